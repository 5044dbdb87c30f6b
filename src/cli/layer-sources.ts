/**
 * Opens the IMAGE argument of `history` and `inspect`: the skopeo-style prefixes choose a
 * back end; a bare reference goes to the engine when it has the image, else to the registry,
 * and says which on stderr. This is the one place allowed to import every back end.
 */
import type { EngineClient } from '../engine/client.js';
import { ImgtoolError, isImgtoolError } from '../image/errors.js';
import type { Image } from '../image/image.js';
import { hostPlatform, parsePlatform, type Platform } from '../image/platform.js';
import type { SourceSpec } from '../layers/source-spec.js';
import { connectFromGlobals } from './engine-options.js';
import { debug, log, type CliRuntime } from './runtime.js';

/** An opened source: an {@link Image}, or an engine image (which has faster, special paths). */
export type OpenedSource =
  | {
      readonly kind: 'image';
      readonly image: Image;
      readonly transport: 'docker-archive' | 'oci' | 'oci-archive' | 'docker';
      readonly resolvedFrom?: 'registry';
      readonly manifestDigest?: string;
      close(): Promise<void>;
    }
  | {
      readonly kind: 'daemon';
      readonly engine: EngineClient;
      readonly name: string;
      readonly source: string;
      readonly resolvedFrom?: 'engine';
      close(): Promise<void>;
    };

/** Options shared by history and inspect. */
export interface SourceOptions {
  readonly platform?: string;
}

async function openRegistry(rt: CliRuntime, ref: string, platform: Platform | undefined, resolvedFrom?: 'registry'): Promise<OpenedSource> {
  const { parseReference, registryApiHost } = await import('../image/reference.js');
  const { resolveCredentials } = await import('../registry/credentials/index.js');
  const { RegistryClient } = await import('../registry/client/client.js');
  const { openRemoteImage } = await import('../registry/image-source.js');
  const reference = parseReference(ref);
  const warn = (m: string): void => log(rt, `warning: ${m}`);
  const credentials = await resolveCredentials(reference.registry, { env: rt.env, signal: rt.signal, forPull: true, warn });
  const client = new RegistryClient(registryApiHost(reference.registry), {
    ...(credentials === undefined ? {} : { credentials }),
    signal: rt.signal,
    warn,
    log: (line) => debug(rt, line),
  });
  try {
    const image = await openRemoteImage(client, reference, {
      ...(platform ? { platform } : {}),
      defaultPlatform: hostPlatform(process.platform, process.arch),
      signal: rt.signal,
    });
    return {
      kind: 'image',
      image,
      transport: 'docker',
      manifestDigest: image.manifestDigest,
      ...(resolvedFrom ? { resolvedFrom } : {}),
      close: () => client.close(),
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}

/** Opens `spec`; the caller must `close()` the result. */
export async function openSource(rt: CliRuntime, spec: SourceSpec, options: SourceOptions = {}): Promise<OpenedSource> {
  const platform = options.platform === undefined ? undefined : parsePlatform(options.platform);
  const layoutOptions = {
    ...(platform ? { platform } : {}),
    defaultPlatform: hostPlatform(process.platform, process.arch),
    signal: rt.signal,
  };
  const noop = async (): Promise<void> => undefined;
  switch (spec.transport) {
    case 'docker-archive':
    case 'oci-archive': {
      const { openDockerArchive } = await import('../layers/docker-archive.js');
      const image = await openDockerArchive(spec.path, { ...layoutOptions, ...(spec.ref === undefined ? {} : { ref: spec.ref }) });
      return { kind: 'image', image, transport: spec.transport, close: noop };
    }
    case 'oci': {
      const { openOciLayout } = await import('../layers/oci-layout.js');
      const image = await openOciLayout(spec.path, { ...layoutOptions, ...(spec.ref === undefined ? {} : { ref: spec.ref }) });
      return { kind: 'image', image, transport: 'oci', close: noop };
    }
    case 'docker':
      return openRegistry(rt, spec.ref, platform);
    case 'docker-daemon': {
      const engine = await connectFromGlobals(rt);
      try {
        await engine.imageInspect(spec.ref, rt.signal);
      } catch (err) {
        await engine.close();
        throw isImgtoolError(err, 'ENGINE_NOT_FOUND')
          ? new ImgtoolError('IMAGE_NOT_FOUND', `the engine has no image ${spec.ref}`, { cause: err, hint: 'check `docker images`, or read it from a registry with docker://' })
          : err;
      }
      return { kind: 'daemon', engine, name: spec.ref, source: `docker-daemon:${spec.ref}`, close: () => engine.close() };
    }
    case 'bare': {
      // The engine first, like `docker history`; a registry when the engine lacks the image or is unreachable.
      let engine: EngineClient | undefined;
      try {
        engine = await connectFromGlobals(rt);
        await engine.imageInspect(spec.ref, rt.signal);
        log(rt, `reading ${spec.ref} from the engine (docker-daemon:${spec.ref})`);
        const e = engine;
        return { kind: 'daemon', engine: e, name: spec.ref, source: `docker-daemon:${spec.ref}`, resolvedFrom: 'engine', close: () => e.close() };
      } catch (err) {
        await engine?.close();
        if (!isImgtoolError(err, 'ENGINE_NOT_FOUND', 'ENGINE_UNREACHABLE', 'ENGINE_ENDPOINT_INVALID')) throw err;
        debug(rt, `engine: ${(err as Error).message}`);
      }
      log(rt, `the engine has no ${spec.ref}; reading it from its registry (docker://${spec.ref})`);
      return openRegistry(rt, spec.ref, platform, 'registry');
    }
  }
}

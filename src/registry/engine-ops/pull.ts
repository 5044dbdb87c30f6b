/**
 * `imgtool pull` through the engine: `POST /images/create` with `X-Registry-Auth`. The
 * response headers come long before the image exists, so the stream is read to its end
 * before anything is reported (an early return is how "No such image" follows a "successful"
 * pull in other clients — dockerode#107). Credentials are read with `forPull`, so a broken
 * credential helper does not stop an anonymous pull of a public image.
 */
import type { EngineClient } from '../../engine/client.js';
import { ImgtoolError, isImgtoolError } from '../../image/errors.js';
import type { Reference } from '../../image/reference.js';
import { configKeyFor } from '../credentials/keys.js';
import { encodeRegistryAuth } from '../credentials/encode.js';
import { resolveCredentialsWithSource } from '../credentials/store.js';
import type { CredentialOptions, CredentialSource } from '../credentials/types.js';
import { explainStreamFailure } from './explain.js';
import { describeSource } from './push.js';
import { LayerProgress, type LayerProgressEvent } from './progress.js';

/** Result of {@link pullThroughEngine}. */
export interface EnginePullResult {
  /** The fully qualified reference pulled. */
  readonly reference: string;
  /** The manifest digest the engine reported (`Digest: sha256:...`), when it did. */
  readonly digest?: string;
  /** The engine's closing status ("Downloaded newer image for ..." / "Image is up to date for ..."). */
  readonly status?: string;
  readonly credentialSource?: CredentialSource;
}

/** Options for {@link pullThroughEngine}. */
export interface EnginePullOptions extends Omit<CredentialOptions, 'forPull'> {
  /** `os[/arch[/variant]]`. */
  readonly platform?: string;
  readonly onProgress?: (event: LayerProgressEvent, progress: LayerProgress) => void;
  readonly log?: (line: string) => void;
}

/** Pulls `ref` into the engine and resolves when the engine has finished. */
export async function pullThroughEngine(engine: EngineClient, ref: Reference, opts: EnginePullOptions): Promise<EnginePullResult> {
  const resolved = await resolveCredentialsWithSource(ref.registry, { ...opts, forPull: true });
  if (resolved) opts.log?.(`credentials for ${ref.registry}: ${describeSource(resolved.source)}`);
  else opts.log?.(`no credentials for ${ref.registry}: pulling anonymously`);
  const registryAuth = encodeRegistryAuth(resolved?.credentials, configKeyFor(ref.registry));
  // As the docker client does: fromImage is the name, tag is the digest when there is one.
  const tag = ref.digest ?? ref.tag ?? 'latest';
  const progress = new LayerProgress();
  let digest: string | undefined;
  let status: string | undefined;
  try {
    for await (const msg of engine.imageCreate({ fromImage: ref.familiarName, tag, registryAuth, ...(opts.platform ? { platform: opts.platform } : {}) }, opts.signal)) {
      const event = progress.update(msg);
      if (event?.kind === 'status') {
        const d = /^Digest: (sha256:[0-9a-f]{64})$/.exec(event.message.trim());
        if (d?.[1]) digest = d[1];
        else if (event.message.startsWith('Status: ')) status = event.message.slice('Status: '.length);
      }
      if (event) opts.onProgress?.(event, progress);
    }
  } catch (err) {
    if (isImgtoolError(err, 'ENGINE_STREAM')) throw explainStreamFailure('pull', ref, err, resolved?.source);
    if (isImgtoolError(err, 'ENGINE_NOT_FOUND')) {
      throw new ImgtoolError('PULL_FAILED', `pull of ${ref.familiar} failed: ${err.message}`, {
        cause: err,
        details: { reference: ref.toString() },
        hint: resolved ? `check the name and tag, and that the account may pull ${ref.repository}` : `check the name and tag; for a private repository run "imgtool login ${ref.registry}" first`,
      });
    }
    throw err;
  }
  return {
    reference: ref.toString(),
    ...(digest ? { digest } : ref.digest ? { digest: ref.digest } : {}),
    ...(status ? { status } : {}),
    ...(resolved ? { credentialSource: resolved.source } : {}),
  };
}

import type { Command } from 'commander';
import type { Reference } from '../../image/reference.js';
import { debug, log, printJson, printResult, type CliRuntime } from '../runtime.js';

interface PushOptions {
  allTags?: boolean;
  digestFile?: string;
  json?: boolean;
  quiet?: boolean;
  direct?: boolean;
  from?: string;
  concurrency?: string;
  chunkSize?: string;
  compressionLevel?: string;
  insecure?: boolean;
  caCert?: string;
}

/** What both push paths report. */
interface PushOutcome {
  readonly digest: string;
  /** For --all-tags: every tag with its digest. */
  readonly pushed?: ReadonlyArray<{ readonly tag: string; readonly digest: string }>;
  readonly result: unknown;
}

/** Push through the engine (`POST /images/{name}/push`). */
async function pushEngine(rt: CliRuntime, ref: Reference, options: PushOptions): Promise<PushOutcome> {
  const { pushThroughEngine } = await import('../../registry/engine-ops/index.js');
  const { connectFromGlobals } = await import('../engine-options.js');
  const { createProgressView } = await import('../layer-progress.js');
  const engine = await connectFromGlobals(rt);
  const view = await createProgressView(rt, `Pushing ${ref.familiar}`, options.quiet === true);
  try {
    const result = await pushThroughEngine(engine, ref, {
      env: rt.env,
      signal: rt.signal,
      allTags: options.allTags === true,
      warn: (m) => log(rt, `warning: ${m}`),
      log: (line) => debug(rt, line),
      onProgress: (event, progress) => view.onProgress(event, progress),
    });
    view.end(true, `Pushed ${ref.familiar} ${result.digest}`);
    return { digest: result.digest, pushed: result.pushed, result };
  } catch (err) {
    view.end(false);
    throw err;
  } finally {
    await engine.close();
  }
}

/** Push straight to the registry (`--direct`), reading the image from the engine or `--from`. */
async function pushDirectly(rt: CliRuntime, ref: Reference, options: PushOptions): Promise<PushOutcome> {
  const { ImgtoolError } = await import('../../image/errors.js');
  if (options.allTags) throw new ImgtoolError('USAGE', '--all-tags works through the engine only; push each tag with --direct');
  const { pushDirect, engineSource, dockerArchiveSource } = await import('../../registry/push-direct/push.js');
  const { resolveCredentials } = await import('../../registry/credentials/index.js');
  const { parseSourceSpec } = await import('../../layers/source-spec.js');
  const { parseSize } = await import('../../layers/units.js');
  const { createDirectProgressView } = await import('../layer-progress.js');
  const warn = (m: string): void => log(rt, `warning: ${m}`);
  let concurrency: number | undefined;
  if (options.concurrency !== undefined) {
    concurrency = Number(options.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ImgtoolError('USAGE', `--concurrency: "${options.concurrency}" is not a positive integer`);
  }
  const chunkSize = options.chunkSize === undefined ? undefined : parseSize(options.chunkSize, '--chunk-size');
  let gzipLevel: number | undefined;
  if (options.compressionLevel !== undefined) {
    gzipLevel = Number(options.compressionLevel);
    if (!/^\d$/.test(options.compressionLevel)) throw new ImgtoolError('USAGE', `--compression-level: "${options.compressionLevel}" is not a gzip level 0–9`);
  }
  const credentials = await resolveCredentials(ref.registry, { env: rt.env, signal: rt.signal, warn });
  const spec = parseSourceSpec(options.from ?? `docker-daemon:${ref.familiar}`);
  let close = async (): Promise<void> => undefined;
  let source: Parameters<typeof pushDirect>[0];
  switch (spec.transport) {
    case 'docker-daemon': {
      const { connectFromGlobals } = await import('../engine-options.js');
      const engine = await connectFromGlobals(rt);
      close = () => engine.close();
      source = engineSource(engine, spec.ref);
      break;
    }
    case 'docker-archive':
      source = dockerArchiveSource(spec.path, spec.ref);
      break;
    case 'oci': {
      const { openOciLayout } = await import('../../layers/oci-layout.js');
      source = await openOciLayout(spec.path, { signal: rt.signal, ...(spec.ref === undefined ? {} : { ref: spec.ref }) });
      break;
    }
    default:
      throw new ImgtoolError('USAGE', `--from ${options.from ?? ''}: push --direct reads docker-daemon:REF, docker-archive:PATH[:REF] or oci:DIR[:TAG]`);
  }
  // Where blobs were seen and what each layer compressed to: lets a re-push skip compressing
  // (and exporting) what the registry has. A damaged file is ignored (see --debug).
  const { BlobLocations, defaultBlobLocationsFile } = await import('../../registry/push-direct/blob-locations.js');
  const { homedir } = await import('node:os');
  const cacheFile = defaultBlobLocationsFile(rt.env, homedir());
  const blobLocations = cacheFile === undefined ? new BlobLocations() : await BlobLocations.load(cacheFile, { signal: rt.signal, log: (line) => debug(rt, line) });
  const view = await createDirectProgressView(rt, `Pushing ${ref.familiar} directly`, options.quiet === true);
  try {
    const result = await pushDirect(source, ref, {
      blobLocations,
      signal: rt.signal,
      warn,
      log: (line) => debug(rt, line),
      onProgress: (event) => view.onProgress(event),
      ...(credentials === undefined ? {} : { credentials }),
      ...(concurrency === undefined ? {} : { concurrency }),
      ...(chunkSize === undefined ? {} : { chunkSize }),
      ...(gzipLevel === undefined ? {} : { gzipLevel }),
      ...(options.insecure ? { insecure: true } : {}),
      ...(options.caCert ? { caFile: options.caCert } : {}),
    });
    view.end(true, `Pushed ${ref.familiar} ${result.digest} (${result.blobs.uploaded} uploaded, ${result.blobs.mounted} mounted, ${result.blobs.exists} already there)`);
    return { digest: result.digest, result };
  } catch (err) {
    view.end(false);
    throw err;
  } finally {
    // What was learnt holds even when the push failed; the cache is a hint, so failing to write it is only noted.
    if (cacheFile !== undefined) await blobLocations.save(cacheFile).catch((e: unknown) => debug(rt, `could not write ${cacheFile}: ${(e as Error).message}`));
    await close();
  }
}

/**
 * `imgtool push REF`: pushes through the engine with the user's docker credentials (or
 * straight to the registry with --direct), shows per-layer progress on stderr, returns only
 * when the push has finished, and prints the pushed digest on stdout (nothing else), so
 * `digest=$(imgtool push app:1)` works.
 */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('push')
    .description('Push an image to its registry, using the docker credentials; prints the digest')
    .argument('<reference>', 'image to push, e.g. registry.example.com/team/app:1.4')
    .option('-a, --all-tags', 'push every local tag of the repository (engine push only)')
    .option('--digest-file <file>', 'also write the pushed digest to this file')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .option('--direct', 'upload straight to the registry instead of through the engine')
    .option('--from <source>', 'with --direct: read the image from docker-daemon:REF, docker-archive:PATH[:REF] or oci:DIR[:TAG]')
    .option('--concurrency <n>', 'with --direct: parallel blob uploads (default 4)')
    .option('--chunk-size <size>', 'with --direct: upload in chunks of this size (e.g. 50MB), for proxies that refuse large bodies')
    .option('--compression-level <n>', 'with --direct: gzip level 0–9 for layers imgtool compresses (default 1, as crane/kaniko; 6 is docker\'s)')
    .option('--insecure', 'with --direct: allow plain HTTP and unverified TLS for this registry')
    .option('--ca-cert <file>', 'with --direct: trust this CA certificate for the registry')
    .action(async (input: string, options: PushOptions) => {
      const { parseReference } = await import('../../image/reference.js');
      const { ImgtoolError } = await import('../../image/errors.js');
      const ref = parseReference(input, { defaultTag: options.allTags ? false : 'latest' });
      if (!options.direct) {
        const directOnly = (['from', 'concurrency', 'chunkSize', 'compressionLevel', 'insecure', 'caCert'] as const).filter((k) => options[k] !== undefined);
        if (directOnly.length > 0) throw new ImgtoolError('USAGE', `--${directOnly[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --direct`);
      }
      const outcome = options.direct ? await pushDirectly(rt, ref, options) : await pushEngine(rt, ref, options);
      if (options.digestFile) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(options.digestFile, outcome.digest, { signal: rt.signal });
      }
      if (options.json) printJson(rt, outcome.result);
      else if (options.allTags && outcome.pushed) for (const p of outcome.pushed) printResult(rt, `${ref.name}:${p.tag}@${p.digest}`);
      else printResult(rt, outcome.digest);
    });
}

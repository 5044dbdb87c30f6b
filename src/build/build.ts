/**
 * `imgtool build` as a library call: plan, choose the context, stream it to `POST /build`,
 * follow the progress, and report the image id, or the failing step with its output and the
 * daemon's message (also when the failure arrives inside the HTTP 200 stream). Aborting the
 * signal closes the request, which cancels the build on the daemon.
 */
import { Readable } from 'node:stream';
import type { EngineClient } from '../engine/client.js';
import type { BuildParams, JsonMessage } from '../engine/types.js';
import { abortError, ImgtoolError, isImgtoolError } from '../image/errors.js';
import { prepareBuildContext, type PreparedBuildContext } from './build-context.js';
import type { BuilderKind } from './context/select.js';
import { tarOf } from './context/source.js';
import { assertSendable } from './context/tar.js';
import { BuildProgressTracker, type ProgressEvent } from './progress/tracker.js';
import type { LintWarning } from './plan/types.js';

/** Options for {@link buildImage}. */
export interface BuildImageOptions {
  readonly engine: EngineClient;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  readonly contextDir?: string;
  /** `-f`: a path relative to `cwd`, or `-` (then `readStdin` is used). */
  readonly dockerfile?: string;
  readonly readStdin?: () => Promise<string>;
  /** `-t`, already validated references. */
  readonly tags?: readonly string[];
  /**
   * `--build-arg`: a value, or undefined for "named without a value and not in the
   * environment" (sent as null: the ARG's default applies).
   */
  readonly buildArgs?: Readonly<Record<string, string | undefined>>;
  readonly target?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly noCache?: boolean;
  readonly pull?: boolean;
  readonly platform?: string;
  readonly network?: string;
  readonly cacheFrom?: readonly string[];
  /** Default: the engine's `Builder-Version` ("2" BuildKit, else classic). */
  readonly builder?: BuilderKind;
  /** Send the whole (non-ignored) context as the docker CLI does. */
  readonly fullContext?: boolean;
  /** `X-Registry-Config` header value (padded base64url JSON) for private base images. */
  readonly registryConfig?: string;
  /** Called with the context decision before anything is sent. */
  readonly onContext?: (prepared: PreparedBuildContext, builder: BuilderKind) => void;
  /** Called for every engine message with the events decoded from it. */
  readonly onProgress?: (msg: JsonMessage, events: readonly ProgressEvent[]) => void;
  readonly signal?: AbortSignal;
}

/** What a successful build produced. */
export interface BuildImageResult {
  /** `sha256:<hex>` of the image config. */
  readonly imageId: string;
  readonly tags: readonly string[];
  readonly builder: BuilderKind;
  /** Bytes of tar sent as the request body. */
  readonly contextBytes: number;
  readonly contextEntries: number;
  readonly contextMode: 'minimal' | 'full';
  readonly fullContextReason?: string;
  readonly durationMs: number;
  readonly warnings: readonly LintWarning[];
}

/** The builder the engine uses by default (`Builder-Version` of `/_ping`). */
export async function defaultBuilder(engine: EngineClient, signal?: AbortSignal): Promise<BuilderKind> {
  const ping = await engine.ping(signal);
  return ping.builderVersion === '2' ? 'buildkit' : 'classic';
}

function buildParams(opts: BuildImageOptions, dockerfileName: string, builder: BuilderKind): BuildParams {
  const buildArgs: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(opts.buildArgs ?? {})) buildArgs[k] = v ?? null;
  return {
    dockerfile: dockerfileName,
    version: builder === 'buildkit' ? '2' : '1',
    rm: true,
    ...(opts.tags && opts.tags.length > 0 ? { tags: opts.tags } : {}),
    ...(opts.target === undefined ? {} : { target: opts.target }),
    ...(Object.keys(buildArgs).length > 0 ? { buildArgs } : {}),
    ...(opts.labels && Object.keys(opts.labels).length > 0 ? { labels: opts.labels } : {}),
    ...(opts.noCache ? { noCache: true } : {}),
    ...(opts.pull ? { pull: true } : {}),
    ...(opts.platform === undefined ? {} : { platform: opts.platform }),
    ...(opts.network === undefined ? {} : { networkMode: opts.network }),
    ...(opts.cacheFrom && opts.cacheFrom.length > 0 ? { cacheFrom: opts.cacheFrom } : {}),
  };
}

/** The BUILD_FAILED error: failing step, its last output lines, the daemon's message. */
function buildFailed(err: ImgtoolError, tracker: BuildProgressTracker): ImgtoolError {
  const failure = tracker.failure();
  const lines = [`the build failed${failure.step ? ` at step ${failure.step}` : ''}: ${err.message}`];
  if (failure.tail.length > 0) {
    lines.push(`output of the step (last ${failure.tail.length} lines):`, ...failure.tail.map((l) => `  | ${l}`));
  }
  return new ImgtoolError('BUILD_FAILED', lines.join('\n'), {
    cause: err,
    details: { ...err.details, ...(failure.step ? { step: failure.step } : {}) },
    // A stream that broke (daemon killed, connection cut) carries its own hint: the
    // instruction is not at fault then (issue 7: dockerd killed mid-build).
    hint: err.hint ?? 'fix the failing instruction; rerun with --progress plain to see every step',
  });
}

/**
 * Runs a build. Throws DOCKERFILE_* / DOCKERIGNORE_INVALID / USAGE before any build request,
 * CONTEXT_UNREADABLE when the context cannot be sent, BUILD_FAILED when the build fails,
 * ABORTED when `signal` fires (the request is closed, which cancels the build).
 */
export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const started = Date.now();
  const { engine, signal } = opts;
  const builder = opts.builder ?? (await defaultBuilder(engine, signal));
  const prepared = await prepareBuildContext({
    cwd: opts.cwd,
    builder,
    engine,
    ...(opts.contextDir === undefined ? {} : { contextDir: opts.contextDir }),
    ...(opts.dockerfile === undefined ? {} : { dockerfile: opts.dockerfile }),
    ...(opts.readStdin === undefined ? {} : { readStdin: opts.readStdin }),
    ...(opts.target === undefined ? {} : { target: opts.target }),
    ...(opts.buildArgs === undefined ? {} : { buildArgs: opts.buildArgs }),
    ...(opts.platform === undefined ? {} : { platform: opts.platform }),
    ...(opts.fullContext ? { fullContext: true } : {}),
    ...(signal ? { signal } : {}),
  });
  assertSendable(prepared.entries);
  opts.onContext?.(prepared, builder);

  const { stream, stats } = tarOf(prepared.context, prepared.entries, signal);
  // Remember a failure of the context stream itself: the request then fails with a transport
  // error, and the context error is the one worth reporting.
  let contextError: unknown;
  const body = Readable.from(
    (async function* () {
      try {
        yield* stream;
      } catch (err) {
        contextError = err;
        throw err;
      }
    })(),
    { objectMode: false },
  );
  const tracker = new BuildProgressTracker();
  const params = buildParams(opts, prepared.context.dockerfileName, builder);
  const headers = opts.registryConfig === undefined ? undefined : { 'X-Registry-Config': opts.registryConfig };
  try {
    for await (const msg of engine.build(body, params, headers ? { headers } : {}, signal)) {
      const events = tracker.push(msg);
      opts.onProgress?.(msg, events);
    }
  } catch (err) {
    if (contextError !== undefined) throw contextError;
    if (signal?.aborted) throw abortError(signal, 'the build');
    if (isImgtoolError(err, 'ENGINE_STREAM')) throw buildFailed(err, tracker);
    throw err;
  } finally {
    body.destroy();
  }
  if (contextError !== undefined) throw contextError;
  const imageId = tracker.imageId;
  if (imageId === undefined) {
    throw new ImgtoolError('BUILD_FAILED', 'the engine ended the build without reporting an image id', {
      hint: 'check the daemon log; rerun with --progress json to see what the engine sent',
    });
  }
  return {
    imageId,
    tags: opts.tags ?? [],
    builder,
    contextBytes: stats.bytes,
    contextEntries: stats.entries,
    contextMode: prepared.mode,
    ...(prepared.fullReason === undefined ? {} : { fullContextReason: prepared.fullReason }),
    durationMs: Date.now() - started,
    warnings: prepared.plan.warnings,
  };
}

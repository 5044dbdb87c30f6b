/**
 * Deciding what context a build sends: plan the Dockerfile, list the context the docker CLI
 * would send, then keep only what the built stages read (the minimal context), unless the
 * build may read anything: a whole-context read in the plan, ONBUILD triggers in a base image,
 * a base image that is not present to inspect, or `--full-context`. Shared by `imgtool build`
 * and `imgtool context ls` so both always agree.
 */
import type { EngineClient } from '../engine/client.js';
import { isImgtoolError } from '../image/errors.js';
import { planBuild } from './plan/planner.js';
import type { BuildPlan } from './plan/types.js';
import { builtExternalImages, contextNeeds, selectContext, type BuilderKind } from './context/select.js';
import { loadContext, resolveBuildInput, type BuildInput, type LoadedContext } from './context/source.js';
import type { ContextEntry } from './context/walk.js';
import { compileIgnoreLines, findIgnoreFile } from './dockerignore/ignorefile.js';

/** Options for {@link prepareBuildContext}. */
export interface PrepareBuildContextOptions {
  readonly cwd: string;
  /** Context directory as given (default `.`). */
  readonly contextDir?: string;
  /** `-f`: path relative to `cwd`, or `-` for stdin. */
  readonly dockerfile?: string;
  readonly readStdin?: () => Promise<string>;
  readonly target?: string;
  /** `--build-arg`: undefined value = named without a value and absent from the environment. */
  readonly buildArgs?: Readonly<Record<string, string | undefined>>;
  readonly platform?: string;
  readonly builder: BuilderKind;
  /** Send everything not ignored, as the docker CLI does. */
  readonly fullContext?: boolean;
  /**
   * The engine, to inspect base images (ONBUILD triggers, ENV for expansion) and learn its
   * platform. Without it the decision uses the Dockerfile alone and says so in `notes`.
   */
  readonly engine?: EngineClient;
  readonly signal?: AbortSignal;
}

/** The context a build sends, and why. */
export interface PreparedBuildContext {
  readonly input: BuildInput;
  readonly plan: BuildPlan;
  readonly context: LoadedContext;
  /** Entries to send, in tar order. */
  readonly entries: readonly ContextEntry[];
  /** `minimal` when only what the build reads is sent. */
  readonly mode: 'minimal' | 'full';
  /** Why the full context is sent (mode `full`). */
  readonly fullReason?: string;
  /** Things the user should know about the decision (printed on stderr by the CLI). */
  readonly notes: readonly string[];
}

/** The engine's platform for BUILDPLATFORM, e.g. `linux/amd64`. */
async function enginePlatform(engine: EngineClient, signal: AbortSignal | undefined): Promise<string | undefined> {
  try {
    const v = await engine.version(signal);
    return v.Os && v.Arch ? `${v.Os}/${v.Arch}` : undefined;
  } catch (err) {
    if (isImgtoolError(err, 'ABORTED')) throw err;
    return undefined;
  }
}

interface BaseFacts {
  readonly env: Record<string, readonly string[]>;
  /** Why the full context is needed, from the first base that requires it. */
  readonly fullReason?: string;
}

/** Inspects each external image: ONBUILD triggers or absence force the full context. */
async function inspectBases(engine: EngineClient, images: readonly string[], signal: AbortSignal | undefined): Promise<BaseFacts> {
  const env: Record<string, readonly string[]> = {};
  let fullReason: string | undefined;
  for (const image of images) {
    try {
      const info = await engine.imageInspect(image, signal);
      const onbuild = info.Config?.OnBuild ?? [];
      if (onbuild.length > 0 && fullReason === undefined) {
        fullReason = `the base image ${image} has ONBUILD triggers (${onbuild.map((t) => JSON.stringify(t)).join(', ')}), which may read any file of the context`;
      }
      const e = info.Config?.Env;
      if (e && e.length > 0) env[image] = e;
    } catch (err) {
      if (isImgtoolError(err, 'ABORTED')) throw err;
      if (fullReason === undefined) {
        const why = isImgtoolError(err, 'ENGINE_NOT_FOUND') ? 'is not present in the engine (the build will pull it)' : `could not be inspected (${(err as Error).message})`;
        fullReason = `the base image ${image} ${why}, so its ONBUILD triggers are unknown`;
      }
    }
  }
  return { env, ...(fullReason === undefined ? {} : { fullReason }) };
}

/**
 * Checks what can be checked without the engine or a walk of the context: the Dockerfile is
 * found and plans (DOCKERFILE_SYNTAX / DOCKERFILE_INVALID), the ignore file compiles
 * (DOCKERIGNORE_INVALID). The CLI calls it before connecting, so such errors never cost a request.
 */
export async function checkBuildInputs(opts: Omit<PrepareBuildContextOptions, 'engine' | 'fullContext'>): Promise<BuildPlan> {
  const input = await resolveInputOf(opts);
  const plan = planBuild({
    dockerfileText: input.dockerfileText,
    dockerfilePath: input.dockerfileDisplay,
    builder: opts.builder,
    ...(opts.target === undefined ? {} : { target: opts.target }),
    ...(opts.buildArgs === undefined ? {} : { buildArgs: opts.buildArgs }),
    ...(opts.platform === undefined ? {} : { platform: opts.platform }),
  });
  const found = await findIgnoreFile({ contextDir: input.contextDir, dockerfilePath: input.dockerfilePath, ...(opts.signal ? { signal: opts.signal } : {}) });
  compileIgnoreLines(found.file, found.lines);
  return plan;
}

/** Finds the context dir and reads the Dockerfile the options name. */
function resolveInputOf(opts: Omit<PrepareBuildContextOptions, 'engine' | 'fullContext'>): ReturnType<typeof resolveBuildInput> {
  return resolveBuildInput({
    cwd: opts.cwd,
    ...(opts.contextDir === undefined ? {} : { contextDir: opts.contextDir }),
    ...(opts.dockerfile === undefined ? {} : { dockerfile: opts.dockerfile }),
    ...(opts.readStdin === undefined ? {} : { readStdin: opts.readStdin }),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}

/**
 * Plans the build and chooses the entries to send. Dockerfile errors (DOCKERFILE_SYNTAX,
 * DOCKERFILE_INVALID) and .dockerignore errors are thrown before the engine is contacted.
 */
export async function prepareBuildContext(opts: PrepareBuildContextOptions): Promise<PreparedBuildContext> {
  const input = await resolveInputOf(opts);
  const planOptions = {
    dockerfileText: input.dockerfileText,
    dockerfilePath: input.dockerfileDisplay,
    builder: opts.builder,
    ...(opts.target === undefined ? {} : { target: opts.target }),
    ...(opts.buildArgs === undefined ? {} : { buildArgs: opts.buildArgs }),
    ...(opts.platform === undefined ? {} : { platform: opts.platform }),
  };
  // A first plan without the engine: Dockerfile errors stop everything before any request.
  let plan = planBuild(planOptions);
  const context = await loadContext(input, opts.signal);
  const notes: string[] = [];
  const full = (reason: string): PreparedBuildContext => ({ input, plan, context, entries: context.entries, mode: 'full', fullReason: reason, notes });

  const contextPaths = context.entries.map((e) => e.path);
  const contextInfo = { hasDockerignore: context.ignore.file !== undefined, totalBytes: context.entries.reduce((n, e) => n + e.size, 0) };
  if (opts.fullContext) {
    plan = planBuild({ ...planOptions, contextPaths, contextInfo });
    return full('--full-context was given');
  }

  let baseFacts: BaseFacts = { env: {} };
  let buildPlatform: string | undefined;
  if (opts.engine) {
    buildPlatform = await enginePlatform(opts.engine, opts.signal);
    baseFacts = await inspectBases(opts.engine, builtExternalImages(plan, opts.builder), opts.signal);
  } else {
    notes.push('the engine was not consulted: ONBUILD triggers of base images are not checked');
  }
  plan = planBuild({
    ...planOptions,
    contextPaths,
    contextInfo,
    ...(buildPlatform === undefined ? {} : { buildPlatform }),
    ...(Object.keys(baseFacts.env).length > 0 ? { baseImageEnv: baseFacts.env } : {}),
  });
  if (baseFacts.fullReason !== undefined) return full(baseFacts.fullReason);

  const needs = contextNeeds(plan, opts.builder);
  if (needs.wholeContext !== undefined) return full(needs.wholeContext);
  const selection = selectContext(context.entries, needs.sources, context.always);
  if (selection.fullReason !== undefined) return full(selection.fullReason);
  return { input, plan, context, entries: selection.entries, mode: 'minimal', notes };
}

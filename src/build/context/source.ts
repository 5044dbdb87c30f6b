/**
 * Where a build's inputs are: the context directory and the Dockerfile, found the way the
 * docker CLI finds them (`-f` relative to the current directory, `Dockerfile` then `dockerfile`
 * in the context by default, symlinks resolved, `-f -` from stdin), and the full context listing
 * with .dockerignore applied and the Dockerfile and .dockerignore always kept.
 */
import { randomBytes } from 'node:crypto';
import { lstat, readFile, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { abortError, ImgtoolError } from '../../image/errors.js';
import { compileIgnoreLines, findIgnoreFile, type IgnoreRules } from '../dockerignore/ignorefile.js';
import { contextTar, type ContextTarStats, type VirtualFile } from './tar.js';
import { listContext, type ContextEntry } from './walk.js';

/** Options for {@link resolveBuildInput}. */
export interface ResolveBuildInputOptions {
  /** Directory relative paths are resolved against (the CLI's cwd). */
  readonly cwd: string;
  /** The context directory as given (default `.`). */
  readonly contextDir?: string;
  /** `-f`: a path (relative to `cwd`), or `-` for stdin; default `<context>/Dockerfile`. */
  readonly dockerfile?: string;
  /** Reads the Dockerfile text from stdin, for `-f -`. */
  readonly readStdin?: () => Promise<string>;
  readonly signal?: AbortSignal;
}

/** The context directory and the Dockerfile of a build. */
export interface BuildInput {
  /** Absolute, symlinks resolved. */
  readonly contextDir: string;
  /** Absolute path of the Dockerfile on disk (symlinks resolved); undefined for stdin. */
  readonly dockerfilePath: string | undefined;
  /** How to name the Dockerfile in messages (`-` for stdin). */
  readonly dockerfileDisplay: string;
  /** The Dockerfile's text. */
  readonly dockerfileText: string;
  /** Its path inside the context (`/`-separated) when it is there; undefined when it must be injected. */
  readonly dockerfileInContext: string | undefined;
}

function usage(message: string, hint: string, cause?: unknown): ImgtoolError {
  return new ImgtoolError('USAGE', message, { hint, ...(cause === undefined ? {} : { cause }) });
}

/** Finds the context and the Dockerfile; USAGE errors when either is missing. */
export async function resolveBuildInput(opts: ResolveBuildInputOptions): Promise<BuildInput> {
  const given = opts.contextDir ?? '.';
  if (given === '-' || /^[a-z][a-z0-9+.-]*:\/\//i.test(given) || given.startsWith('git@')) {
    throw new ImgtoolError('CONTEXT_INVALID', `the build context "${given}" is not a local directory`, {
      hint: 'imgtool builds from a local directory; clone or extract the context first',
    });
  }
  let contextDir: string;
  try {
    contextDir = await realpath(resolve(opts.cwd, given));
  } catch (err) {
    throw usage(`the build context ${given} does not exist`, 'pass an existing directory as the context', err);
  }
  if (!(await stat(contextDir)).isDirectory()) {
    throw usage(`the build context ${given} is not a directory`, 'pass a directory as the context');
  }

  if (opts.dockerfile === '-') {
    if (!opts.readStdin) throw usage('-f - needs the Dockerfile on stdin', 'pipe the Dockerfile into imgtool');
    const text = await opts.readStdin();
    if (opts.signal?.aborted) throw abortError(opts.signal, 'reading the Dockerfile');
    return { contextDir, dockerfilePath: undefined, dockerfileDisplay: '-', dockerfileText: text, dockerfileInContext: undefined };
  }

  let candidate: string;
  if (opts.dockerfile === undefined) {
    candidate = join(contextDir, 'Dockerfile');
    // As the docker CLI: fall back to a lower-case `dockerfile` when `Dockerfile` is absent.
    const exists = await lstat(candidate).then(
      () => true,
      () => false,
    );
    if (!exists) {
      const alt = join(contextDir, 'dockerfile');
      if (await lstat(alt).then(() => true, () => false)) candidate = alt;
    }
  } else {
    candidate = resolve(opts.cwd, opts.dockerfile);
  }
  let dockerfilePath: string;
  let dockerfileText: string;
  try {
    dockerfilePath = await realpath(candidate);
    dockerfileText = await readFile(dockerfilePath, { encoding: 'utf8', ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw abortError(opts.signal, 'reading the Dockerfile');
    throw usage(`cannot read the Dockerfile ${candidate}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'pass the Dockerfile with -f, or run imgtool where the Dockerfile is', err);
  }
  const rel = relative(contextDir, dockerfilePath);
  const inside = rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
  return {
    contextDir,
    dockerfilePath,
    dockerfileDisplay: opts.dockerfile ?? (relative(opts.cwd, dockerfilePath) || dockerfilePath),
    dockerfileText,
    dockerfileInContext: inside ? rel.split(sep).join('/') : undefined,
  };
}

/** The full context of a build (what the docker CLI sends), listed, with what the tar needs. */
export interface LoadedContext {
  readonly input: BuildInput;
  /** The ignore rules in effect (file undefined when there is none). */
  readonly ignore: IgnoreRules;
  /** Every entry the docker CLI would send, in tar order. */
  readonly entries: readonly ContextEntry[];
  /** Paths sent even when ignored: `.dockerignore` and the Dockerfile, when they are in the context. */
  readonly always: readonly string[];
  /** The `dockerfile` parameter of POST /build: the path in the context, or the injected name. */
  readonly dockerfileName: string;
  /** Files added to the tar (a Dockerfile from outside the context or stdin). */
  readonly append: readonly VirtualFile[];
  /** Replaced contents (.dockerignore, extended with the injected Dockerfile's name). */
  readonly replace: ReadonlyMap<string, Buffer>;
}

/**
 * Lists the full context of `input`: reads the ignore file that applies, appends exceptions
 * for `.dockerignore` and the Dockerfile when the patterns exclude them (as the docker CLI
 * does), walks the directory. A Dockerfile outside the context (or from stdin) is injected as
 * `.dockerfile.<random>` and named in `.dockerignore` so the builder hides it, as the CLI does.
 */
export async function loadContext(input: BuildInput, signal?: AbortSignal): Promise<LoadedContext> {
  const found = await findIgnoreFile({ contextDir: input.contextDir, dockerfilePath: input.dockerfilePath, ...(signal ? { signal } : {}) });
  const base = compileIgnoreLines(found.file, found.lines);
  const extra: string[] = [];
  const always: string[] = ['.dockerignore'];
  if (base.matcher.excludes('.dockerignore')) extra.push('!.dockerignore');
  if (input.dockerfileInContext !== undefined) {
    always.push(input.dockerfileInContext);
    if (base.matcher.excludes(input.dockerfileInContext)) extra.push(`!${input.dockerfileInContext}`);
  }
  const ignore = extra.length === 0 ? base : compileIgnoreLines(found.file, found.lines, extra);
  const entries = await listContext({ contextDir: input.contextDir, matcher: ignore.matcher, ...(signal ? { signal } : {}) });

  if (input.dockerfileInContext !== undefined) {
    return { input, ignore, entries, always, dockerfileName: input.dockerfileInContext, append: [], replace: new Map() };
  }
  const name = `.dockerfile.${randomBytes(10).toString('hex')}`;
  const now = Math.floor(Date.now() / 1000);
  const append: VirtualFile[] = [{ path: name, content: Buffer.from(input.dockerfileText, 'utf8'), mode: 0o600, mtime: now }];
  const replace = new Map<string, Buffer>();
  const ignoreEntry = entries.find((e) => e.path === '.dockerignore');
  if (ignoreEntry?.type === 'file') {
    const original = await readFile(join(input.contextDir, '.dockerignore'), signal ? { signal } : {});
    replace.set('.dockerignore', Buffer.concat([original, Buffer.from(`\n${name}\n`)]));
  } else if (ignoreEntry === undefined) {
    append.push({ path: '.dockerignore', content: Buffer.from(`.dockerignore\n${name}\n`), mode: 0o600, mtime: now });
  }
  return { input, ignore, entries, always: [...always, name], dockerfileName: name, append, replace };
}

/** Streams the tar of `entries` (a subset of `ctx.entries`, or all of them) with the injected files. */
export function tarOf(ctx: LoadedContext, entries: readonly ContextEntry[], signal?: AbortSignal): { stream: AsyncGenerator<Buffer, void, undefined>; stats: ContextTarStats } {
  return contextTar({ contextDir: ctx.input.contextDir, entries, append: ctx.append, replace: ctx.replace, ...(signal ? { signal } : {}) });
}

/**
 * Reading a .dockerignore file with moby/patternmatcher's ignorefile.ReadAll rules, and finding
 * which file applies to a build (`<Dockerfile>.dockerignore` next to the Dockerfile wins over
 * `<context>/.dockerignore`, as in BuildKit).
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ImgtoolError } from '../../image/errors.js';
import { goCleanPath, goTrimSpace } from './clean.js';
import { PatternListError, PatternMatcher } from './matcher.js';

/** One pattern line of an ignore file, as moby reads it, with its 1-based line number. */
export interface IgnoreLine {
  readonly pattern: string;
  readonly line: number;
}

/**
 * moby's ignorefile.ReadAll: UTF-8 BOM stripped; a line is a comment only when its first
 * character is `#`; whitespace trimmed; blank lines skipped; `!` marks an exception (spaces after
 * it trimmed); each pattern cleaned like a path, `/`-separated, one leading `/` removed.
 */
export function parseIgnoreFile(text: string): IgnoreLine[] {
  const out: IgnoreLine[] = [];
  const lines = text.split('\n');
  // A trailing newline does not make one more (empty) line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((rawLine, index) => {
    let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (index === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.startsWith('#')) return;
    let pattern = goTrimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = goCleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    out.push({ pattern: invert ? `!${pattern}` : pattern, line: index + 1 });
  });
  return out;
}

/** A parsed, compiled ignore file. */
export interface IgnoreRules {
  /** Absolute path of the file the patterns came from; undefined when there is none. */
  readonly file: string | undefined;
  /** The patterns in file order (exceptions keep their `!`). */
  readonly patterns: readonly string[];
  readonly lines: readonly IgnoreLine[];
  readonly matcher: PatternMatcher;
}

/**
 * Compiles the lines of `file`; a bad pattern becomes DOCKERIGNORE_INVALID naming file:line.
 * `extra` patterns (the always-sent files) are appended after the file's own.
 */
export function compileIgnoreLines(file: string | undefined, lines: readonly IgnoreLine[], extra: readonly string[] = []): IgnoreRules {
  const patterns = [...lines.map((l) => l.pattern), ...extra];
  try {
    return { file, patterns: lines.map((l) => l.pattern), lines, matcher: new PatternMatcher(patterns) };
  } catch (err) {
    if (err instanceof PatternListError) {
      const line = lines[err.index]?.line;
      const where = file === undefined ? 'ignore pattern' : line === undefined ? file : `${file}:${line}`;
      throw new ImgtoolError('DOCKERIGNORE_INVALID', `${where}: ${err.message}`, {
        cause: err,
        details: { ...(file === undefined ? {} : { file }), ...(line === undefined ? {} : { line }) },
        hint: 'fix or remove the pattern; syntax: https://docs.docker.com/build/concepts/context/#dockerignore-files',
      });
    }
    throw err;
  }
}

/** Options for {@link findIgnoreFile}. */
export interface FindIgnoreFileOptions {
  /** Absolute context directory. */
  readonly contextDir: string;
  /** Absolute path of the Dockerfile on disk; undefined when it comes from stdin. */
  readonly dockerfilePath: string | undefined;
  readonly signal?: AbortSignal;
}

/**
 * Reads the ignore file that applies: `<Dockerfile>.dockerignore` next to the Dockerfile when it
 * exists (BuildKit's rule), else `<context>/.dockerignore`, else none. Returns its parsed lines.
 */
export async function findIgnoreFile(opts: FindIgnoreFileOptions): Promise<{ file: string | undefined; lines: IgnoreLine[] }> {
  const candidates: string[] = [];
  if (opts.dockerfilePath !== undefined) {
    candidates.push(join(dirname(opts.dockerfilePath), `${basename(opts.dockerfilePath)}.dockerignore`));
  }
  candidates.push(join(opts.contextDir, '.dockerignore'));
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, { encoding: 'utf8', ...(opts.signal ? { signal: opts.signal } : {}) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      if ((err as Error).name === 'AbortError') throw new ImgtoolError('ABORTED', 'reading the ignore file was cancelled', { cause: err });
      throw new ImgtoolError('CONTEXT_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`, {
        cause: err,
        details: { file },
        hint: 'make the file readable, or remove it',
      });
    }
    return { file, lines: parseIgnoreFile(text) };
  }
  return { file: undefined, lines: [] };
}

/** Small filesystem helpers for detection: missing files are answers, not errors. */
import { readFile, readdir, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import { abortError, ImgtoolError } from '../image/errors.js';

/** Throws ABORTED when `signal` fired. */
export function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Reads a UTF-8 file; undefined when it does not exist. */
export async function readTextIfExists(file: string, signal?: AbortSignal): Promise<string | undefined> {
  checkAborted(signal, 'imgtool init');
  try {
    return await readFile(file, { encoding: 'utf8', ...(signal ? { signal } : {}) });
  } catch (err) {
    if (isMissing(err)) return undefined;
    if ((err as Error).name === 'AbortError') throw abortError(signal, 'imgtool init');
    throw new ImgtoolError('IO', `cannot read ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
}

/** True when `file` exists (file or directory). */
export async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if (isMissing(err)) return false;
    throw new ImgtoolError('IO', `cannot stat ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
}

/** Directory entries; empty when the directory does not exist. */
export async function listDir(dir: string, signal?: AbortSignal): Promise<Dirent[]> {
  checkAborted(signal, 'imgtool init');
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return [];
    throw new ImgtoolError('IO', `cannot list ${dir}: ${(err as Error).message}`, { cause: err, details: { file: dir } });
  }
}

/** Parses JSON that may carry comments and trailing commas (tsconfig.json), undefined if it still fails. */
export function parseJsonc(text: string): unknown {
  // Strings are kept intact while comments outside them are dropped.
  const stripped = text
    .replace(/("(?:[^"\\]|\\.)*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_m, str: string | undefined) => str ?? '')
    .replace(/,(\s*[}\]])/g, '$1');
  try {
    return JSON.parse(stripped) as unknown;
  } catch {
    return undefined;
  }
}

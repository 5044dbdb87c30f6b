/** Dockerfile errors in one shape: `Dockerfile:12: what is wrong`, with file and line in details. */
import { ImgtoolError, type ImgtoolErrorCode } from '../../image/errors.js';

/** Builds a DOCKERFILE_SYNTAX/DOCKERFILE_INVALID error whose message starts with `file:line:`. */
export function dockerfileError(
  code: Extract<ImgtoolErrorCode, 'DOCKERFILE_SYNTAX' | 'DOCKERFILE_INVALID'>,
  file: string,
  line: number | undefined,
  message: string,
  extra: { hint?: string; cause?: unknown; details?: Record<string, unknown> } = {},
): ImgtoolError {
  const where = line === undefined ? displayName(file) : `${displayName(file)}:${line}`;
  return new ImgtoolError(code, `${where}: ${message}`, {
    details: { ...(extra.details ?? {}), file, ...(line === undefined ? {} : { line }) },
    ...(extra.hint === undefined ? {} : { hint: extra.hint }),
    ...(extra.cause === undefined ? {} : { cause: extra.cause }),
  });
}

// stdin has no file name; say so the way the docker CLI's messages do.
function displayName(file: string): string {
  return file === '-' ? 'Dockerfile (stdin)' : file;
}

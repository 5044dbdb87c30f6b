import { ImgtoolError, type ImgtoolErrorCode } from '../image/errors.js';

/** Exit codes, as documented in README.md. */
export const EXIT_OK = 0;
/** The operation failed (engine, registry, build, gate...). */
export const EXIT_FAILED = 1;
/** Usage error: bad flags, bad reference, bad Dockerfile found before any request. */
export const EXIT_USAGE = 2;
/** Interrupted by SIGINT (128 + 2), as shells report it. */
export const EXIT_INTERRUPTED = 130;

const USAGE_CODES: ReadonlySet<ImgtoolErrorCode> = new Set<ImgtoolErrorCode>([
  'USAGE',
  'REFERENCE_INVALID',
  'DOCKERFILE_SYNTAX',
  'DOCKERFILE_INVALID',
  'DOCKERIGNORE_INVALID',
  'ENGINE_ENDPOINT_INVALID',
]);

/** Maps an error to the process exit code. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ImgtoolError) {
    if (err.code === 'ABORTED') return EXIT_INTERRUPTED;
    if (USAGE_CODES.has(err.code)) return EXIT_USAGE;
  }
  return EXIT_FAILED;
}

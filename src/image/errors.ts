/**
 * The one error type imgtool throws. Callers branch on `code`, never on the message text;
 * the CLI maps codes to exit codes (see `exitCodeFor` in src/cli).
 */

/** Every failure imgtool can report, by stable code. Add new codes here, grouped by module. */
export type ImgtoolErrorCode =
  // usage: bad flags, bad references, bad Dockerfiles found before any request (exit 2)
  | 'USAGE'
  | 'REFERENCE_INVALID'
  | 'DOCKERFILE_SYNTAX'
  | 'DOCKERFILE_INVALID'
  | 'DOCKERIGNORE_INVALID'
  // engine
  | 'ENGINE_UNREACHABLE'
  | 'ENGINE_ENDPOINT_INVALID'
  | 'ENGINE_VERSION_UNSUPPORTED'
  | 'ENGINE_API'
  | 'ENGINE_NOT_FOUND'
  | 'ENGINE_STREAM'
  | 'ENGINE_TIMEOUT'
  // build
  | 'BUILD_FAILED'
  | 'CONTEXT_INVALID'
  | 'CONTEXT_UNREADABLE'
  // image content and formats
  | 'MANIFEST_INVALID'
  | 'CONFIG_INVALID'
  | 'DIGEST_MISMATCH'
  | 'DIGEST_INVALID'
  | 'LAYER_INVALID'
  | 'ARCHIVE_INVALID'
  | 'PLATFORM_NOT_FOUND'
  | 'IMAGE_NOT_FOUND'
  | 'GATE_FAILED'
  // registry and credentials
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_TLS'
  | 'REGISTRY_INSECURE'
  | 'REGISTRY_UNAUTHORIZED'
  | 'REGISTRY_DENIED'
  | 'REGISTRY_NOT_FOUND'
  | 'REGISTRY_RATE_LIMITED'
  | 'REGISTRY_TOO_LARGE'
  | 'REGISTRY_ERROR'
  | 'PUSH_FAILED'
  | 'PULL_FAILED'
  | 'CREDENTIALS_CONFIG_INVALID'
  | 'CREDENTIALS_HELPER_FAILED'
  | 'CREDENTIALS_HELPER_MISSING'
  // init
  | 'INIT_DETECT_FAILED'
  | 'INIT_EXISTS'
  | 'INIT_TEMPLATE_INVALID'
  // generic
  | 'ABORTED'
  | 'IO';

/** Extra, structured facts an error carries (never secrets). */
export interface ImgtoolErrorDetails {
  /** File the error is about (Dockerfile, config.json, archive...). */
  readonly file?: string;
  /** 1-based line in `file`. */
  readonly line?: number;
  /** Image reference or registry host the error is about. */
  readonly reference?: string;
  /** HTTP status code, when the error came from an HTTP answer. */
  readonly status?: number;
  /** Anything else worth showing with `--json` or `--debug`. */
  readonly [key: string]: unknown;
}

/** Options for {@link ImgtoolError}. */
export interface ImgtoolErrorOptions {
  readonly cause?: unknown;
  readonly details?: ImgtoolErrorDetails;
  /** What the user can do about it; printed after the message. */
  readonly hint?: string;
}

/** The base error: a stable `code`, a message that says what failed and why, an optional hint. */
export class ImgtoolError extends Error {
  override readonly name = 'ImgtoolError';
  readonly code: ImgtoolErrorCode;
  readonly details: ImgtoolErrorDetails;
  readonly hint: string | undefined;

  constructor(code: ImgtoolErrorCode, message: string, options: ImgtoolErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  /** A plain object for `--json` output. */
  toJSON(): { code: ImgtoolErrorCode; message: string; hint?: string; details: ImgtoolErrorDetails } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      details: this.details,
    };
  }
}

/** True when `err` is an ImgtoolError, optionally with one of `codes`. */
export function isImgtoolError(err: unknown, ...codes: ImgtoolErrorCode[]): err is ImgtoolError {
  return err instanceof ImgtoolError && (codes.length === 0 || codes.includes(err.code));
}

/** Turns an AbortSignal's reason into an ImgtoolError('ABORTED') unless it already is one. */
export function abortError(signal: AbortSignal | undefined, what: string): ImgtoolError {
  const reason: unknown = signal?.reason;
  if (reason instanceof ImgtoolError) return reason;
  return new ImgtoolError('ABORTED', `${what} was cancelled`, { cause: reason });
}

/**
 * Registry error answers → ImgtoolError. The distribution spec's error body is
 *   {"errors":[{"code":"<CODE>","message":"<text>","detail":<anything>}]}
 * but proxies, load balancers and older registries answer with HTML, plain text or nothing,
 * so the body is parsed defensively and the HTTP status decides the imgtool code.
 */
import { ImgtoolError, type ImgtoolErrorCode } from '../../image/errors.js';

/** One entry of a registry's `errors` array. */
export interface RegistryErrorEntry {
  /** e.g. MANIFEST_BLOB_UNKNOWN, DENIED, TOOMANYREQUESTS. */
  readonly code: string;
  readonly message: string;
  /** `detail` rendered as short text (it may be any JSON value). */
  readonly detail?: string;
}

const MAX_TEXT = 300;

function clip(text: string, max = MAX_TEXT): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/**
 * Removes HTML tags and script/style elements in one pass. Regexps did this before, but
 * `<[^>]*>` and a lazy `<script[\s\S]*?<\/script>` rescan the rest of the body from every
 * `<` without a match: quadratic, 14 s for a 64 KiB body of `<` (found by fuzzing, issue 7).
 */
function stripTags(text: string): string {
  const lower = text.toLowerCase();
  // Element names whose closing tag does not occur after some point: never search again.
  const unclosed = new Set<string>();
  let out = '';
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, lt);
    const element = lower.startsWith('<script', lt) ? 'script' : lower.startsWith('<style', lt) ? 'style' : undefined;
    if (element !== undefined && !unclosed.has(element)) {
      const close = lower.indexOf(`</${element}>`, lt);
      if (close >= 0) {
        out += ' ';
        i = close + element.length + 3;
        continue;
      }
      unclosed.add(element);
    }
    const gt = text.indexOf('>', lt);
    if (gt < 0) {
      // No tag can close any more: the rest is text.
      out += text.slice(lt);
      break;
    }
    out += ' ';
    i = gt + 1;
  }
  return out;
}

/**
 * Parses an error body. Returns the spec's entries when present, else a single pseudo-entry
 * with the body's text (HTML tags stripped) so the user still sees what the server said.
 */
export function parseRegistryErrorBody(body: string): RegistryErrorEntry[] {
  const text = body.trim();
  if (text === '') return [];
  try {
    const parsed: unknown = JSON.parse(text);
    const list = Array.isArray((parsed as { errors?: unknown })?.errors) ? (parsed as { errors: unknown[] }).errors : undefined;
    if (list) {
      return list
        .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
        .map((e) => {
          const detail = e['detail'];
          const detailText =
            detail === undefined || detail === null ? undefined : typeof detail === 'string' ? detail : JSON.stringify(detail);
          return {
            code: typeof e['code'] === 'string' ? e['code'] : 'UNKNOWN',
            message: typeof e['message'] === 'string' ? clip(e['message']) : '',
            ...(detailText === undefined || detailText === '' ? {} : { detail: clip(detailText, 200) }),
          };
        });
    }
    // Some servers answer {"message": "..."} or {"error": "..."} (engine style, token services).
    const obj = parsed as Record<string, unknown>;
    const msg = typeof obj?.['message'] === 'string' ? obj['message'] : typeof obj?.['error'] === 'string' ? obj['error'] : undefined;
    if (msg !== undefined) return [{ code: 'UNKNOWN', message: clip(msg) }];
    return [{ code: 'UNKNOWN', message: clip(text) }];
  } catch {
    // Not JSON: an nginx error page or plain text. Strip tags so "413 Request Entity Too Large" shows.
    const shown = clip(stripTags(text));
    return shown === '' ? [] : [{ code: 'UNKNOWN', message: shown }];
  }
}

/** The imgtool code for an HTTP status (and the registry's own code, when it is more precise). */
export function codeForStatus(status: number, entries: readonly RegistryErrorEntry[] = []): ImgtoolErrorCode {
  const codes = new Set(entries.map((e) => e.code));
  if (status === 401 || codes.has('UNAUTHORIZED')) return 'REGISTRY_UNAUTHORIZED';
  if (status === 429 || codes.has('TOOMANYREQUESTS')) return 'REGISTRY_RATE_LIMITED';
  if (status === 413) return 'REGISTRY_TOO_LARGE';
  if (status === 403 || status === 412 || codes.has('DENIED')) return 'REGISTRY_DENIED';
  if (status === 404) return 'REGISTRY_NOT_FOUND';
  return 'REGISTRY_ERROR';
}

/** What was being done, for the message: "HEAD blob sha256:… in team/app". */
export interface RegistryErrorContext {
  /** host[:port] of the registry. */
  readonly registry: string;
  /** Short description of the operation. */
  readonly operation: string;
  readonly repository?: string;
  /** Response headers (for rate-limit numbers and Retry-After). */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
}

function header(headers: RegistryErrorContext['headers'], name: string): string | undefined {
  const v = headers?.[name];
  return Array.isArray(v) ? v[0] : v;
}

function defaultHint(code: ImgtoolErrorCode, status: number, ctx: RegistryErrorContext): string | undefined {
  switch (code) {
    case 'REGISTRY_UNAUTHORIZED':
      return `log in with \`imgtool login ${ctx.registry}\`, or check that the account may access ${ctx.repository ?? 'this repository'}`;
    case 'REGISTRY_DENIED':
      return status === 412
        ? 'the tag is immutable on this registry: push a new tag instead of overwriting it'
        : `the account lacks permission for this operation on ${ctx.repository ?? ctx.registry}`;
    case 'REGISTRY_RATE_LIMITED': {
      const retry = header(ctx.headers, 'retry-after');
      return retry === undefined ? 'the registry is throttling requests: wait and retry, or log in for a higher limit' : `the registry asks to retry after ${retry}`;
    }
    case 'REGISTRY_TOO_LARGE':
      // Below the limit, whatever it is: nginx's default client_max_body_size is 1m, so 8M chunks would be refused too.
      return 'a proxy in front of the registry limits request bodies: push with a --chunk-size below its limit (e.g. --chunk-size 1M), or raise the limit (nginx client_max_body_size)';
    case 'REGISTRY_NOT_FOUND':
      return undefined;
    default:
      return status >= 500 ? 'the registry failed internally; retry later or check its logs' : undefined;
  }
}

/**
 * Builds the error for a failed registry answer: the status, every registry error entry
 * (code: message (detail)), and a hint that says what to do.
 */
export function registryError(status: number, body: string, ctx: RegistryErrorContext, hint?: string): ImgtoolError {
  const entries = parseRegistryErrorBody(body);
  const code = codeForStatus(status, entries);
  const said = entries
    .map((e) => [e.code === 'UNKNOWN' ? '' : `${e.code}: `, e.message, e.detail === undefined ? '' : ` (${e.detail})`].join(''))
    .filter((s) => s !== '')
    .join('; ');
  const where = ctx.repository === undefined ? ctx.registry : `${ctx.registry}/${ctx.repository}`;
  const message = `${ctx.operation} on ${where} failed: HTTP ${status}${said === '' ? '' : `: ${said}`}`;
  const rateLimit = header(ctx.headers, 'ratelimit-limit');
  const rateRemaining = header(ctx.headers, 'ratelimit-remaining');
  const retryAfter = header(ctx.headers, 'retry-after');
  const finalHint = hint ?? defaultHint(code, status, ctx);
  return new ImgtoolError(code, message, {
    details: {
      reference: where,
      status,
      registry: ctx.registry,
      errors: entries,
      ...(rateLimit === undefined ? {} : { rateLimitLimit: rateLimit }),
      ...(rateRemaining === undefined ? {} : { rateLimitRemaining: rateRemaining }),
      ...(retryAfter === undefined ? {} : { retryAfter }),
    },
    ...(finalHint === undefined ? {} : { hint: finalHint }),
  });
}

/** The registry error codes of an ImgtoolError built by {@link registryError}. */
export function registryErrorCodes(err: ImgtoolError): string[] {
  const entries = err.details['errors'];
  return Array.isArray(entries) ? entries.map((e) => String((e as RegistryErrorEntry).code)) : [];
}

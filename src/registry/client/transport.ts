/**
 * The bottom of the registry transport chain: one HTTP exchange on undici, with
 *  - redirects followed by hand ("never forward Authorization to another host": object
 *    stores reject a signed URL that also carries credentials, and the credentials are the
 *    registry's, not theirs),
 *  - retries with backoff on connection failures, 5xx, 408 and 429 (see retry.ts), only when
 *    the body can be sent again (a body factory),
 *  - `Warning: 299` headers surfaced through a callback,
 *  - debug logs with Authorization redacted.
 * Auth and scheme selection sit above this layer (client.ts).
 */
import type { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { ImgtoolError, abortError } from '../../image/errors.js';
import { RetryBudget, errorCodes, isRetryableError, isRetryableStatus, parseRetryAfter, wait, type RetryPolicy } from './retry.js';
import type { LogFn, WarnFn } from './types.js';

/**
 * A request body. Buffers and strings can be sent any number of times; a stream must come
 * from a factory so a retry or a redirect can make a fresh one. Mark a factory that can only
 * run once with {@link oneShotBody}: such a request is sent once, never retried.
 */
export type RequestBody = string | Uint8Array | BodyFactory;

/** Makes a fresh body stream for each attempt. */
export interface BodyFactory {
  (signal: AbortSignal | undefined): Readable | Promise<Readable>;
  /** False when the factory can produce only one stream. */
  readonly reusable?: boolean;
}

/** Wraps an existing stream as a body that can be sent once. */
export function oneShotBody(stream: Readable): BodyFactory {
  let used = false;
  const f = ((): Readable => {
    if (used) throw new ImgtoolError('IO', 'a one-shot request body was sent twice');
    used = true;
    return stream;
  }) as BodyFactory;
  Object.defineProperty(f, 'reusable', { value: false });
  return f;
}

/** Response headers as undici gives them (lower-case names). */
export type Headers = Record<string, string | string[] | undefined>;

/** One request for {@link HttpTransport.send}. */
export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody;
  readonly signal?: AbortSignal;
  /** Override the transport's retry policy for this request (e.g. `{attempts: 1}` for a probe). */
  readonly retry?: RetryPolicy;
  /** Follow 3xx answers (default true). */
  readonly followRedirects?: boolean;
}

/** The final response after redirects and retries. The caller must consume or dump `body`. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Dispatcher.ResponseData['body'];
  /** URL that produced this response (after redirects). */
  readonly url: URL;
}

/** Options for {@link HttpTransport}. */
export interface TransportOptions {
  readonly dispatcher: Dispatcher;
  readonly userAgent: string;
  readonly retry?: RetryPolicy;
  readonly log?: LogFn;
  readonly warn?: WarnFn;
  /** Counts every request sent (tests and benchmarks read it). */
  readonly onRequest?: (method: string, url: URL) => void;
}

const MAX_REDIRECTS = 10;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** First value of a header. */
export function headerValue(headers: Headers, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** All values of a header (repeated headers arrive as an array). */
export function headerValues(headers: Headers, name: string): string[] {
  const v = headers[name.toLowerCase()];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/**
 * Extracts the text of `Warning: 299 - "text"` headers (RFC 7234 §5.5; the distribution spec
 * uses code 299 for deprecation notices). Other warn-codes are ignored.
 */
export function parseWarnings(values: readonly string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    const re = /(\d{3})\s+\S+\s+"((?:[^"\\]|\\.)*)"/g;
    for (let m = re.exec(value); m !== null; m = re.exec(value)) {
      if (m[1] === '299' && m[2] !== undefined) out.push(m[2].replace(/\\(.)/g, '$1'));
    }
  }
  return out;
}

/** Renders headers for a debug line with credentials hidden. */
export function redactHeaders(headers: Readonly<Record<string, string>>): string {
  return Object.entries(headers)
    .map(([k, v]) => {
      const lower = k.toLowerCase();
      if (lower === 'authorization' || lower === 'proxy-authorization' || lower === 'cookie') {
        const scheme = v.split(' ')[0] ?? '';
        return `${k}: ${scheme} <redacted>`;
      }
      return `${k}: ${v}`;
    })
    .join(', ');
}

// Query parameters that carry secrets (OAuth tokens, pre-signed storage URLs); `offline_token=true` is not one.
const SECRET_QUERY_KEYS = /^(refresh_token|access_token|id_token|token|password|secret|client_secret|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature)$/i;

/** A URL for logs: without userinfo, and with token-ish query values hidden. */
export function redactUrl(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  for (const key of [...u.searchParams.keys()]) {
    if (SECRET_QUERY_KEYS.test(key)) u.searchParams.set(key, '<redacted>');
  }
  return u.href;
}

function sameOrigin(a: URL, b: URL): boolean {
  return a.protocol === b.protocol && a.host === b.host;
}

/** The retrying, redirect-following HTTP layer. */
export class HttpTransport {
  private readonly seenWarnings = new Set<string>();

  constructor(private readonly opts: TransportOptions) {}

  /** Sends `req`, following redirects and retrying what is worth retrying. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    const budget = new RetryBudget({ ...this.opts.retry, ...req.retry });
    const reusable = typeof req.body !== 'function' || req.body.reusable !== false;
    for (;;) {
      budget.begin();
      let res: HttpResponse;
      try {
        res = await this.followRedirects(req);
      } catch (err) {
        if (req.signal?.aborted) throw abortError(req.signal, `${req.method} ${req.url.host}`);
        const delay = reusable && isRetryableError(err) ? budget.nextDelay() : undefined;
        if (delay === undefined) throw err;
        this.opts.log?.(`retrying ${req.method} ${redactUrl(req.url)} in ${delay} ms after ${errorCodes(err).join('/') || (err as Error).message}`);
        await wait(delay, req.signal, `${req.method} ${req.url.host}`);
        continue;
      }
      if (reusable && isRetryableStatus(res.status)) {
        const retryAfter = parseRetryAfter(headerValue(res.headers, 'retry-after'));
        const delay = budget.nextDelay(retryAfter);
        if (delay !== undefined) {
          await res.body.dump().catch(() => undefined);
          this.opts.log?.(`retrying ${req.method} ${redactUrl(req.url)} in ${delay} ms after HTTP ${res.status}${retryAfter === undefined ? '' : ' (Retry-After)'}`);
          await wait(delay, req.signal, `${req.method} ${req.url.host}`);
          continue;
        }
      }
      return res;
    }
  }

  private async followRedirects(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let method = req.method;
    let headers: Record<string, string> = { ...req.headers };
    let body = req.body;
    for (let hop = 0; ; hop++) {
      const res = await this.once(method, url, headers, body, req.signal);
      if (req.followRedirects === false || !REDIRECT_STATUSES.has(res.status)) return res;
      const location = headerValue(res.headers, 'location');
      if (location === undefined) return res;
      await res.body.dump().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) {
        throw new ImgtoolError('REGISTRY_ERROR', `too many redirects from ${req.url.host} (more than ${MAX_REDIRECTS})`, {
          details: { registry: req.url.host },
        });
      }
      const next = new URL(location, url);
      if (url.protocol === 'https:' && next.protocol === 'http:') {
        // A downgrade would expose what TLS protected; refuse instead of silently following.
        throw new ImgtoolError('REGISTRY_INSECURE', `${url.host} redirected ${method} to plain http (${next.host}); refusing to downgrade`, {
          details: { registry: req.url.host },
          hint: 'fix the registry (or its storage) to redirect to https URLs',
        });
      }
      if (!sameOrigin(url, next)) {
        // Another host gets no credentials of ours: drop Authorization (and cookies) on the hop.
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^(authorization|cookie|proxy-authorization)$/i.test(k)));
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        // RFC 9110 §15.4: 303 (and 301/302 after POST, as browsers do) become a GET without a body.
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-(length|type|range)$/i.test(k)));
      } else if (typeof body === 'function' && body.reusable === false) {
        throw new ImgtoolError('REGISTRY_ERROR', `${url.host} redirected a ${method} whose body cannot be sent twice`, {
          details: { registry: req.url.host, status: res.status },
        });
      }
      this.opts.log?.(`redirect ${res.status} → ${redactUrl(next)}${sameOrigin(url, next) ? '' : ' (Authorization dropped: other host)'}`);
      url = next;
    }
  }

  private async once(
    method: HttpRequest['method'],
    url: URL,
    headers: Readonly<Record<string, string>>,
    body: RequestBody | undefined,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    if (signal?.aborted) throw abortError(signal, `${method} ${url.host}`);
    const sendHeaders: Record<string, string> = { 'user-agent': this.opts.userAgent, ...headers };
    const payload = typeof body === 'function' ? await body(signal) : body;
    this.opts.onRequest?.(method, url);
    const started = Date.now();
    this.opts.log?.(`→ ${method} ${redactUrl(url)} [${redactHeaders(sendHeaders)}]`);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method,
        headers: sendHeaders,
        ...(payload === undefined ? {} : { body: payload }),
        dispatcher: this.opts.dispatcher,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (err) {
      if (payload !== undefined && typeof payload === 'object' && 'destroy' in payload) (payload as Readable).destroy();
      this.opts.log?.(`✗ ${method} ${redactUrl(url)}: ${errorCodes(err).join('/') || (err as Error).message}`);
      throw err;
    }
    this.opts.log?.(`← ${res.statusCode} ${method} ${redactUrl(url)} (${Date.now() - started} ms)`);
    const warnings = parseWarnings(headerValues(res.headers, 'warning'));
    for (const w of warnings) {
      if (this.seenWarnings.has(w)) continue;
      this.seenWarnings.add(w);
      this.opts.warn?.(`registry ${url.host} warns: ${w}`);
    }
    return { status: res.statusCode, headers: res.headers, body: res.body, url };
  }
}

/** Reads at most `limit` bytes of a response body as text (error bodies can be huge HTML). */
export async function readText(body: HttpResponse['body'], limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      const buf = chunk as Buffer;
      if (size < limit) chunks.push(buf.subarray(0, limit - size));
      size += buf.length;
      if (size >= limit) break;
    }
  } catch {
    // A body cut mid-way still tells us what arrived; the status already says it failed.
  } finally {
    if (size >= limit) body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8');
}

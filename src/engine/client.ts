/**
 * The Docker Engine API client: typed calls over undici, every request versioned
 * (`/v1.xx/...`), errors mapped to ImgtoolError codes, streamed answers decoded by
 * readJsonMessages. connectEngine() is the only way to get one.
 */
import { PassThrough, Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { abortError, ImgtoolError } from '../image/errors.js';
import { buildQuery } from './build-query.js';
import { resolveEndpoint } from './endpoint.js';
import type { EndpointOptions, EngineEndpoint } from './endpoint-types.js';
import { ANONYMOUS_REGISTRY_AUTH, redactHeaders, redactPath } from './headers.js';
import { endpointLabel, statusError, transportError, type RequestContext } from './http-errors.js';
import { readJsonMessages } from './json-stream.js';
import { createTransport, type Transport } from './transport.js';
import { MAX_API_VERSION, MIN_API_VERSION, negotiateApiVersion, pinnedApiVersion } from './versions.js';
import type {
  AuthConfig,
  AuthResult,
  BuildParams,
  BuildRequestOptions,
  EngineVersion,
  ImageCreateOptions,
  ImageDeleteEntry,
  ImageHistoryEntry,
  ImageInspect,
  ImagePushOptions,
  ImageRemoveOptions,
  JsonMessage,
  PingResult,
  SystemInfo,
} from './types.js';

/** A request body: a Node stream or any async iterable of bytes (e.g. a tar packer). */
export type EngineBody = Readable | AsyncIterable<Uint8Array>;

/** Options of {@link connectEngine}: the global CLI flags, the environment, and plumbing. */
export interface ConnectEngineOptions extends EndpointOptions {
  /** Aborts endpoint resolution and is linked into every request the client makes. */
  readonly signal?: AbortSignal;
  /** Debug log: one line per request (method, path, status), credentials redacted. */
  readonly log?: (line: string) => void;
  /** Timeout for short (non-streamed) calls in ms; default 60 000. Streams have none. */
  readonly timeoutMs?: number;
}

/**
 * A connection to one Docker Engine. The API version is negotiated lazily: the first call
 * pings the daemon (`HEAD /_ping`, GET on failure) and uses min(imgtool's newest, the daemon's
 * `Api-Version`), unless `DOCKER_API_VERSION` pins it. Streaming calls return async iterables
 * that start the request when iterated; leaving the loop early (break, throw, abort) closes
 * the connection, which the daemon treats as cancelling the operation. A stream finishes
 * only when the daemon ends it; an `error`/`errorDetail` line inside a 200 answer throws
 * ImgtoolError('ENGINE_STREAM').
 */
export interface EngineClient {
  /** The endpoint in use and how it was chosen. */
  readonly endpoint: EngineEndpoint;
  /** The API version all requests use; negotiates on first use. */
  apiVersion(signal?: AbortSignal): Promise<string>;
  /** True when DOCKER_API_VERSION pinned the version (no negotiation). */
  readonly versionPinned: boolean;
  /** `HEAD /_ping` (GET on failure). */
  ping(signal?: AbortSignal): Promise<PingResult>;
  /** `GET /version`. */
  version(signal?: AbortSignal): Promise<EngineVersion>;
  /** `GET /info`. */
  info(signal?: AbortSignal): Promise<SystemInfo>;
  /**
   * `POST /build` with `context` (a tar, optionally compressed) streamed as the body.
   * Yields the build's JSON messages; throws ENGINE_STREAM on a failed step.
   */
  build(context: EngineBody, params: BuildParams, options?: BuildRequestOptions, signal?: AbortSignal): AsyncIterable<JsonMessage>;
  /** `GET /images/{name}/json`; ENGINE_NOT_FOUND when the image is missing. */
  imageInspect(name: string, signal?: AbortSignal): Promise<ImageInspect>;
  /** `GET /images/{name}/history`, newest first. */
  imageHistory(name: string, signal?: AbortSignal): Promise<ImageHistoryEntry[]>;
  /** `POST /images/{name}/tag?repo=&tag=`. */
  imageTag(name: string, repo: string, tag?: string, signal?: AbortSignal): Promise<void>;
  /** `POST /images/{name}/push` (name without tag); always sends X-Registry-Auth. */
  imagePush(name: string, options: ImagePushOptions, signal?: AbortSignal): AsyncIterable<JsonMessage>;
  /** `POST /images/create` (pull); always sends X-Registry-Auth. */
  imageCreate(options: ImageCreateOptions, signal?: AbortSignal): AsyncIterable<JsonMessage>;
  /**
   * `GET /images/{name}/get` (one name) or `/images/get?names=...`: a `docker save` tar.
   * Resolves once the daemon answered 200; a stream cut short errors when read.
   */
  imageSave(names: readonly string[], signal?: AbortSignal): Promise<Readable>;
  /** `POST /images/load?quiet=1` with a `docker save` tar as body. */
  imageLoad(tar: EngineBody, signal?: AbortSignal): AsyncIterable<JsonMessage>;
  /** `DELETE /images/{name}`. */
  imageRemove(name: string, options?: ImageRemoveOptions, signal?: AbortSignal): Promise<ImageDeleteEntry[]>;
  /** `POST /auth`: checks credentials against a registry through the daemon. */
  auth(config: AuthConfig, signal?: AbortSignal): Promise<AuthResult>;
  /** Closes the connections. */
  close(): Promise<void>;
}

/** Default timeout of short calls: generous, since a busy daemon can be slow to answer. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Most of an error body that is read (the daemon's messages are short). */
const MAX_ERROR_BODY = 64 * 1024;

/** One request, before the API version and base path are added. */
interface RequestSpec {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  /** Path after `/v1.xx`, e.g. "/images/foo/json". */
  readonly path: string;
  readonly query?: URLSearchParams;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: EngineBody | string;
  /** Caller's signal. */
  readonly signal: AbortSignal | undefined;
  /** Short calls get the timeout; streams only the signals. */
  readonly short: boolean;
  /** False only for the negotiation ping, which must work before a version is known. */
  readonly versioned?: boolean;
  /** Statuses handed back instead of thrown (e.g. HEAD /_ping falling back to GET). */
  readonly acceptStatus?: (status: number) => boolean;
  /** For messages: what the request does and what it is about. */
  readonly what: string;
  readonly reference?: string;
}

/** Encodes an image name for a path: `/` and `:` and `@` stay readable, as the daemon's router expects. */
function pathName(name: string, what: string): string {
  if (name === '') throw new ImgtoolError('REFERENCE_INVALID', `${what}: the image name is empty`, { hint: 'give an image name, tag or id' });
  return encodeURIComponent(name).replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%40/g, '@');
}

/** First value of a response header. */
function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads at most `limit` bytes of a body as text (an error body explains itself early). */
async function readText(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, limit);
}

/** Signals that are set, combined. */
function anySignal(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const set = signals.filter((s): s is AbortSignal => s !== undefined);
  if (set.length === 0) return undefined;
  return set.length === 1 ? set[0] : AbortSignal.any(set);
}

/** Settings of one client. */
interface ClientSettings {
  readonly pinnedVersion: string | undefined;
  readonly log: ((line: string) => void) | undefined;
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
}

/** The undici implementation of {@link EngineClient}. */
class HttpEngineClient implements EngineClient {
  readonly versionPinned: boolean;
  private negotiated: string | undefined;
  private negotiating: Promise<string> | undefined;

  constructor(
    readonly endpoint: EngineEndpoint,
    private readonly transport: Transport,
    private readonly settings: ClientSettings,
  ) {
    this.versionPinned = settings.pinnedVersion !== undefined;
    this.negotiated = settings.pinnedVersion;
  }

  apiVersion(signal?: AbortSignal): Promise<string> {
    if (this.negotiated !== undefined) return Promise.resolve(this.negotiated);
    // One negotiation for concurrent first calls; a failed one is retried by the next call.
    this.negotiating ??= this.rawPing(signal, false).then(
      (ping) => {
        const v = negotiateApiVersion(ping.apiVersion, endpointLabel(this.endpoint));
        this.settings.log?.(`engine: API version ${v} (daemon ${ping.apiVersion ?? 'did not say'}, imgtool ${MIN_API_VERSION}–${MAX_API_VERSION})`);
        this.negotiated = v;
        return v;
      },
      (err: unknown) => {
        this.negotiating = undefined;
        throw err;
      },
    );
    return this.negotiating;
  }

  async ping(signal?: AbortSignal): Promise<PingResult> {
    if (this.negotiated === undefined) {
      // The negotiation ping is the ping: no second request.
      const ping = await this.rawPing(signal, false);
      this.negotiated = negotiateApiVersion(ping.apiVersion, endpointLabel(this.endpoint));
      return ping;
    }
    return this.rawPing(signal, true);
  }

  /** `HEAD /_ping`, then GET when HEAD is not answered 200 (moby client/ping.go). */
  private async rawPing(signal: AbortSignal | undefined, versioned: boolean): Promise<PingResult> {
    const base = { path: '/_ping', signal, short: true, versioned, what: 'ping' } as const;
    let res = await this.send({ ...base, method: 'HEAD', acceptStatus: () => true });
    if (res.statusCode !== 200) {
      await res.body.dump().catch(() => undefined);
      res = await this.send({ ...base, method: 'GET' });
    }
    await res.body.dump().catch(() => undefined);
    const h = res.headers;
    return {
      apiVersion: header(h, 'api-version'),
      builderVersion: header(h, 'builder-version'),
      osType: header(h, 'ostype'),
      experimental: header(h, 'docker-experimental') === 'true',
      swarm: header(h, 'swarm'),
    };
  }

  async version(signal?: AbortSignal): Promise<EngineVersion> {
    return this.json<EngineVersion>({ method: 'GET', path: '/version', signal, short: true, what: 'version' });
  }

  async info(signal?: AbortSignal): Promise<SystemInfo> {
    return this.json<SystemInfo>({ method: 'GET', path: '/info', signal, short: true, what: 'info' });
  }

  build(context: EngineBody, params: BuildParams, options: BuildRequestOptions = {}, signal?: AbortSignal): AsyncIterable<JsonMessage> {
    return this.stream(() => ({
      method: 'POST',
      path: '/build',
      query: buildQuery(params),
      headers: { ...options.headers, 'content-type': 'application/x-tar' },
      body: context,
      signal,
      short: false,
      what: 'build',
      ...(params.tags?.[0] === undefined ? {} : { reference: params.tags[0] }),
    }));
  }

  async imageInspect(name: string, signal?: AbortSignal): Promise<ImageInspect> {
    return this.json<ImageInspect>({ method: 'GET', path: `/images/${pathName(name, 'image inspect')}/json`, signal, short: true, what: 'image inspect', reference: name });
  }

  async imageHistory(name: string, signal?: AbortSignal): Promise<ImageHistoryEntry[]> {
    return this.json<ImageHistoryEntry[]>({ method: 'GET', path: `/images/${pathName(name, 'image history')}/history`, signal, short: true, what: 'image history', reference: name });
  }

  async imageTag(name: string, repo: string, tag?: string, signal?: AbortSignal): Promise<void> {
    const query = new URLSearchParams({ repo });
    if (tag !== undefined && tag !== '') query.set('tag', tag);
    const res = await this.send({ method: 'POST', path: `/images/${pathName(name, 'image tag')}/tag`, query, signal, short: true, what: 'image tag', reference: name });
    await res.body.dump().catch(() => undefined);
  }

  imagePush(name: string, options: ImagePushOptions, signal?: AbortSignal): AsyncIterable<JsonMessage> {
    const query = new URLSearchParams();
    if (options.tag !== undefined && options.tag !== '') query.set('tag', options.tag);
    return this.stream(() => ({
      method: 'POST',
      path: `/images/${pathName(name, 'image push')}/push`,
      query,
      headers: { 'x-registry-auth': options.registryAuth === '' ? ANONYMOUS_REGISTRY_AUTH : options.registryAuth },
      signal,
      short: false,
      what: 'image push',
      reference: options.tag === undefined ? name : `${name}:${options.tag}`,
    }));
  }

  imageCreate(options: ImageCreateOptions, signal?: AbortSignal): AsyncIterable<JsonMessage> {
    const query = new URLSearchParams({ fromImage: options.fromImage });
    if (options.tag !== undefined && options.tag !== '') query.set('tag', options.tag);
    if (options.platform !== undefined && options.platform !== '') query.set('platform', options.platform);
    return this.stream(() => ({
      method: 'POST',
      path: '/images/create',
      query,
      headers: { 'x-registry-auth': options.registryAuth === undefined || options.registryAuth === '' ? ANONYMOUS_REGISTRY_AUTH : options.registryAuth },
      signal,
      short: false,
      what: 'image pull',
      reference: options.tag === undefined ? options.fromImage : `${options.fromImage}:${options.tag}`,
    }));
  }

  async imageSave(names: readonly string[], signal?: AbortSignal): Promise<Readable> {
    if (names.length === 0) throw new ImgtoolError('USAGE', 'image save: no image names given', { hint: 'name at least one image' });
    const ctx = { endpoint: this.endpoint, what: 'image save', reference: names.join(' ') };
    const spec: RequestSpec =
      names.length === 1
        ? { method: 'GET', path: `/images/${pathName(names[0] as string, 'image save')}/get`, signal, short: false, what: ctx.what, reference: ctx.reference }
        : { method: 'GET', path: '/images/get', query: new URLSearchParams(names.map((n): [string, string] => ['names', n])), signal, short: false, what: ctx.what, reference: ctx.reference };
    const res = await this.send(spec);
    // Errors while reading become ImgtoolErrors: a cut tar must not look like a short image.
    const out = new PassThrough();
    res.body.on('error', (err: unknown) => {
      out.destroy(signal?.aborted || this.settings.signal?.aborted ? abortError(signal ?? this.settings.signal, 'image save') : streamCut(err, ctx));
    });
    out.on('close', () => {
      if (!res.body.readableEnded) res.body.destroy();
    });
    res.body.pipe(out);
    return out;
  }

  imageLoad(tar: EngineBody, signal?: AbortSignal): AsyncIterable<JsonMessage> {
    return this.stream(() => ({
      method: 'POST',
      path: '/images/load',
      query: new URLSearchParams({ quiet: '1' }),
      headers: { 'content-type': 'application/x-tar' },
      body: tar,
      signal,
      short: false,
      what: 'image load',
    }));
  }

  async imageRemove(name: string, options: ImageRemoveOptions = {}, signal?: AbortSignal): Promise<ImageDeleteEntry[]> {
    const query = new URLSearchParams();
    if (options.force !== undefined) query.set('force', options.force ? '1' : '0');
    if (options.noprune !== undefined) query.set('noprune', options.noprune ? '1' : '0');
    return this.json<ImageDeleteEntry[]>({ method: 'DELETE', path: `/images/${pathName(name, 'image remove')}`, query, signal, short: true, what: 'image remove', reference: name });
  }

  async auth(config: AuthConfig, signal?: AbortSignal): Promise<AuthResult> {
    const res = await this.send({
      method: 'POST',
      path: '/auth',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(config),
      signal,
      short: true,
      what: `login to ${config.serveraddress}`,
      reference: config.serveraddress,
    });
    if (res.statusCode === 204) {
      await res.body.dump().catch(() => undefined);
      return { status: 'Login Succeeded' };
    }
    const body = (await this.readBody(res, { endpoint: this.endpoint, what: 'login', reference: config.serveraddress }, signal)) as { Status?: string; IdentityToken?: string };
    return { status: body.Status ?? 'Login Succeeded', ...(body.IdentityToken ? { identityToken: body.IdentityToken } : {}) };
  }

  async close(): Promise<void> {
    await this.transport.dispatcher.close();
  }

  /** A short call whose answer is JSON. */
  private async json<T>(spec: RequestSpec): Promise<T> {
    const res = await this.send(spec);
    return (await this.readBody(res, { endpoint: this.endpoint, what: spec.what, ...(spec.reference === undefined ? {} : { reference: spec.reference }) }, spec.signal)) as T;
  }

  private async readBody(res: Dispatcher.ResponseData, ctx: RequestContext, signal: AbortSignal | undefined): Promise<unknown> {
    try {
      return await res.body.json();
    } catch (err) {
      if (signal?.aborted || this.settings.signal?.aborted) throw abortError(signal ?? this.settings.signal, ctx.what);
      if (err instanceof SyntaxError) {
        throw new ImgtoolError('ENGINE_API', `${ctx.what}: the engine answered with malformed JSON`, { cause: err, details: { endpoint: this.endpoint.host } });
      }
      throw transportError(err, ctx, false);
    }
  }

  /**
   * A streamed call: yields JSON messages; leaving early aborts the request (cancelling the
   * work). The spec is built on first iteration, so every failure surfaces from the loop.
   */
  private async *stream(makeSpec: () => RequestSpec): AsyncGenerator<JsonMessage, void, undefined> {
    const spec = makeSpec();
    const cancel = new AbortController();
    let completed = false;
    try {
      const res = await this.send(spec, cancel.signal);
      yield* readJsonMessages(res.body, anySignal(spec.signal, this.settings.signal));
      completed = true;
    } finally {
      // Closing the connection is how the Engine API cancels a build, push or pull.
      if (!completed) cancel.abort(new ImgtoolError('ABORTED', `${spec.what} was cancelled`));
    }
  }

  /** Sends one request; non-2xx answers (unless accepted) become ImgtoolErrors with the daemon's message. */
  private async send(spec: RequestSpec, cancel?: AbortSignal): Promise<Dispatcher.ResponseData> {
    const ctx: RequestContext = { endpoint: this.endpoint, what: spec.what, ...(spec.reference === undefined ? {} : { reference: spec.reference }) };
    if (spec.signal?.aborted || this.settings.signal?.aborted) throw abortError(spec.signal ?? this.settings.signal, spec.what);
    const version = spec.versioned === false ? undefined : await this.apiVersion(spec.signal);
    const query = spec.query?.toString() ?? '';
    const path = `${this.transport.basePath}${version === undefined ? '' : `/v${version}`}${spec.path}${query === '' ? '' : `?${query}`}`;
    const timeout = spec.short ? AbortSignal.timeout(this.settings.timeoutMs) : undefined;
    const signal = anySignal(spec.signal, this.settings.signal, timeout, cancel);
    const headers: Record<string, string> = { 'user-agent': 'imgtool', ...spec.headers };
    const log = this.settings.log;
    const line = (): string => {
      const shown = Object.entries(redactHeaders(spec.headers ?? {}))
        .filter(([k]) => k.toLowerCase() !== 'content-type')
        .map(([k, v]) => ` ${k}: ${v}`)
        .join('');
      return `engine: ${spec.method} ${redactPath(path)}${shown}`;
    };
    const started = Date.now();
    let res: Dispatcher.ResponseData;
    try {
      res = await this.transport.dispatcher.request({
        origin: this.transport.origin,
        path,
        method: spec.method,
        headers,
        body: toBody(spec.body),
        ...(signal === undefined ? {} : { signal }),
        headersTimeout: spec.short ? this.settings.timeoutMs : 0,
        bodyTimeout: spec.short ? this.settings.timeoutMs : 0,
      });
    } catch (err) {
      log?.(`${line()} -> failed: ${errorCodeOf(err)}`);
      if (spec.signal?.aborted || this.settings.signal?.aborted) throw abortError(spec.signal ?? this.settings.signal, spec.what);
      // An ImgtoolError here came from the request body (e.g. an unreadable build context): kept as is.
      throw transportError(err, ctx, timeout?.aborted === true);
    }
    log?.(`${line()} -> ${res.statusCode} (${Date.now() - started} ms)`);
    if ((res.statusCode >= 200 && res.statusCode < 300) || spec.acceptStatus?.(res.statusCode) === true) return res;
    const text = await readText(res.body, MAX_ERROR_BODY).catch(() => '');
    throw statusError(res.statusCode, text, ctx);
  }
}

/** A request body undici accepts: strings and Node streams as they are, other iterables wrapped. */
function toBody(body: EngineBody | string | undefined): string | Readable | null {
  if (body === undefined) return null;
  if (typeof body === 'string' || body instanceof Readable) return body;
  return Readable.from(body, { objectMode: false });
}

/** The `code` of an error, for debug logs. */
function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}

/** A body that broke while being read: the operation did not finish. */
function streamCut(err: unknown, ctx: RequestContext): ImgtoolError {
  if (err instanceof ImgtoolError) return err;
  return new ImgtoolError('ENGINE_STREAM', `${ctx.what}: the engine's response broke before it ended: ${err instanceof Error ? err.message : String(err)}`, {
    cause: err,
    details: { endpoint: ctx.endpoint.host, ...(ctx.reference === undefined ? {} : { reference: ctx.reference }) },
    hint: 'the daemon may have restarted or the connection was cut; retry',
  });
}

/**
 * Resolves the endpoint (see resolveEndpoint), reads TLS material and returns a client.
 * Nothing is sent yet: the API version is negotiated by the first call (or pinned by
 * `DOCKER_API_VERSION`), so an unreachable daemon surfaces as ENGINE_UNREACHABLE from that
 * call. Call `ping()` first to check reachability eagerly. Close the client when done.
 */
export async function connectEngine(options: ConnectEngineOptions): Promise<EngineClient> {
  const endpoint = await resolveEndpoint(options);
  const pinnedVersion = pinnedApiVersion(options.env);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const transport = await createTransport(endpoint, {
    env: options.env,
    connectTimeoutMs: Math.min(timeoutMs, 30_000),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  options.log?.(`engine: endpoint ${endpoint.host} (chosen by ${endpoint.how})${pinnedVersion === undefined ? '' : `, API version pinned to ${pinnedVersion} by DOCKER_API_VERSION`}`);
  return new HttpEngineClient(endpoint, transport, { pinnedVersion, log: options.log, timeoutMs, signal: options.signal });
}

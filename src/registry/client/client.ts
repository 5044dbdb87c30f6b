/**
 * A Distribution API client for one registry host, built as a chain in go-containerregistry's
 * manner: ping → scheme → auth → retry.
 *  - ping: "GET /v2/ ... a 401 response with WWW-Authenticate tells the client how to
 *    authenticate" (distribution-spec, "Determining support").
 *  - scheme: https, verified, by default; plain http only for loopback hosts and registries
 *    named with --insecure-registry (https tried first for those, like dockerd).
 *  - auth: Basic or Bearer per the challenge (auth.ts), Authorization only to the registry's
 *    own origin, and on a mid-session 401 "re-challenge, union the scope, retry once".
 *  - retry: bounded backoff with jitter in transport.ts.
 * Operations (manifests, blobs, uploads, tags) map 1:1 to the spec's endpoints; higher-level
 * upload strategies live in upload.ts.
 */
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher } from 'undici';
import { ImgtoolError, abortError, isImgtoolError } from '../../image/errors.js';
import { digestOf, verifyingStream } from '../../image/digest.js';
import { MANIFEST_ACCEPT } from '../../image/media-types.js';
import { isLoopbackRegistry } from '../../image/reference.js';
import { Authenticator } from './auth.js';
import { parseChallenges, preferredChallenge, type Challenge } from './challenge.js';
import { registryError } from './registry-errors.js';
import { errorCodes, isRetryableError, type RetryPolicy } from './retry.js';
import { pullScope, pushScope, type Scope } from './scope.js';
import { isCertificateError, isInsecureRegistry, isNotTlsError, loadTlsMaterial } from './tls.js';
import { HttpTransport, headerValue, readText, type Headers, type HttpRequest, type HttpResponse, type RequestBody } from './transport.js';
import type { LogFn, RegistryCredentials, WarnFn } from './types.js';

/** Options for {@link RegistryClient}; none is required. */
export interface RegistryClientOptions {
  /** Credentials to present (from the credentials module's resolveCredentials). */
  readonly credentials?: RegistryCredentials;
  /** `--insecure-registry`: allow plain http and skip certificate verification for this host. */
  readonly insecure?: boolean;
  /** Daemon-style list of insecure registries (host:port, hostname, or IPv4 CIDR). */
  readonly insecureRegistries?: readonly string[];
  /** Extra CA certificate file (`--ca-cert`). */
  readonly caFile?: string;
  /** Directory with *.crt CAs and client.cert/client.key; default /etc/docker/certs.d/<host:port>. */
  readonly certsDir?: string;
  /** Cancels everything this client does. */
  readonly signal?: AbortSignal;
  /** Debug log lines (Authorization redacted). */
  readonly log?: LogFn;
  /** Registry warnings (`Warning: 299`) for the user. */
  readonly warn?: WarnFn;
  /** User-Agent header; default `imgtool`. */
  readonly userAgent?: string;
  /** Retry bounds. */
  readonly retry?: RetryPolicy;
  /** Use this undici dispatcher instead of building one (tests; TLS options are then ignored). */
  readonly dispatcher?: Dispatcher;
}

/** What the ping learnt. */
export interface PingResult {
  readonly scheme: 'https' | 'http';
  /** The challenge to answer, or undefined when the registry allows anonymous access to /v2/. */
  readonly challenge?: Challenge;
  /** `Docker-Distribution-API-Version`, when sent. */
  readonly apiVersion?: string;
}

/** A manifest as the registry holds it. */
export interface FetchedManifest {
  /** The exact bytes (their sha256 is the manifest digest). */
  readonly bytes: Buffer;
  /** Content-Type (the manifest's media type). */
  readonly mediaType: string;
  readonly digest: string;
}

/** Metadata of a manifest from HEAD. */
export interface ManifestHead {
  readonly digest?: string;
  readonly mediaType?: string;
  readonly size?: number;
}

/** An open upload session. */
export interface UploadSession {
  readonly repository: string;
  /** Where to send the next request; replaced by every answer's Location. */
  readonly location: URL;
  /** Bytes the registry has received so far. */
  readonly offset: number;
  /** `OCI-Chunk-Min-Length`: the smallest chunk the registry accepts, when it says. */
  readonly minChunkLength?: number;
}

/** Result of a cross-repository mount attempt. */
export type MountResult = { readonly mounted: true } | { readonly mounted: false; readonly session?: UploadSession };

/** Counters of what went over the wire (tests and benchmarks assert on them). */
export interface ClientStats {
  requests: number;
  /** Blob uploads completed (monolithic or chunked), not counting mounts. */
  blobUploads: number;
  /** Bytes of blob content sent. */
  bytesUploaded: number;
  /** Successful cross-repository mounts (201). */
  mounts: number;
  /** Manifests written. */
  manifestPuts: number;
}

/** Internal request description. */
interface Call {
  readonly method: HttpRequest['method'];
  /** Path under the registry base ("/v2/...") or an absolute URL (upload Locations). */
  readonly target: string | URL;
  readonly scopes: readonly Scope[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody;
  readonly signal?: AbortSignal;
  readonly retry?: RetryPolicy;
  /** Operation name for errors. */
  readonly operation: string;
  readonly repository?: string;
  /** Ask the token service for an offline (refresh) token too (login). */
  readonly offline?: boolean;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Tries of a manifest GET whose answer broke off mid-body (beyond the transport's own retries). */
const BODY_ATTEMPTS = 3;

function encodeRepoPath(repository: string): string {
  // Repository names are [a-z0-9._/-]; encode each component anyway so nothing odd reaches the path.
  return repository.split('/').map(encodeURIComponent).join('/');
}

/** Merges `digest=<d>` into an upload Location, keeping its query (e.g. `_state`) untouched. */
export function withDigestParam(location: URL, digest: string): URL {
  const u = new URL(location.href);
  const kept = u.search
    .replace(/^\?/, '')
    .split('&')
    .filter((p) => p !== '' && !p.startsWith('digest='));
  kept.push(`digest=${encodeURIComponent(digest)}`);
  u.search = `?${kept.join('&')}`;
  return u;
}

/** Parses `Range: 0-<end>` (or `bytes=0-<end>`) into the number of bytes received. */
export function parseUploadRange(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:bytes=)?(\d+)-(\d+)$/.exec(value.trim());
  if (!m) return undefined;
  return Number(m[2]) + 1;
}

/** The Distribution API client for one registry host. */
export class RegistryClient {
  /** host[:port] the client talks to (the API host: registry-1.docker.io for Docker Hub). */
  readonly registry: string;
  /** What went over the wire. */
  readonly stats: ClientStats = { requests: 0, blobUploads: 0, bytesUploaded: 0, mounts: 0, manifestPuts: 0 };
  private readonly opts: RegistryClientOptions;
  private readonly insecure: boolean;
  private readonly auth: Authenticator;
  private dispatcher: Dispatcher | undefined;
  private ownsDispatcher = false;
  private transport: HttpTransport | undefined;
  private pinged: Promise<PingResult> | undefined;
  private base: URL | undefined;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry;
    this.opts = options;
    this.insecure = options.insecure === true || isInsecureRegistry(registry, options.insecureRegistries);
    // The transport is created lazily (TLS files are read asynchronously); the authenticator
    // reaches it through this proxy object.
    const self = this;
    const lazyHttp = {
      send: (req: HttpRequest) => self.http(req.signal).then((t) => t.send(req)),
    } as unknown as HttpTransport;
    this.auth = new Authenticator({
      http: lazyHttp,
      registry,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      insecure: this.insecure,
      ...(options.log === undefined ? {} : { log: options.log }),
    });
  }

  /** Token requests made so far (cache effectiveness, for tests). */
  get tokenRequests(): number {
    return this.auth.tokenRequests;
  }

  /** The OAuth2 refresh token the token service issued during this session, if any. */
  get refreshToken(): string | undefined {
    return this.auth.refreshToken;
  }

  /** Releases connections (only those of a dispatcher the client created). */
  async close(): Promise<void> {
    if (this.ownsDispatcher && this.dispatcher !== undefined) await this.dispatcher.close().catch(() => undefined);
  }

  private signalFor(signal: AbortSignal | undefined): AbortSignal | undefined {
    const own = this.opts.signal;
    if (signal === undefined) return own;
    if (own === undefined) return signal;
    return AbortSignal.any([own, signal]);
  }

  private async http(signal?: AbortSignal): Promise<HttpTransport> {
    if (this.transport !== undefined) return this.transport;
    let dispatcher = this.opts.dispatcher;
    if (dispatcher === undefined) {
      const tls = await loadTlsMaterial({
        host: this.registry,
        ...(this.opts.caFile === undefined ? {} : { caFile: this.opts.caFile }),
        ...(this.opts.certsDir === undefined ? {} : { certsDir: this.opts.certsDir }),
        ...(signal === undefined ? {} : { signal }),
      });
      if (tls.files.length > 0) this.opts.log?.(`TLS files for ${this.registry}: ${tls.files.join(', ')}`);
      dispatcher = new Agent({
        connect: {
          ...(tls.ca === undefined ? {} : { ca: tls.ca }),
          ...(tls.cert === undefined ? {} : { cert: tls.cert }),
          ...(tls.key === undefined ? {} : { key: tls.key }),
          // --insecure-registry means what it means for dockerd: do not verify the certificate.
          rejectUnauthorized: !this.insecure,
        },
      });
      this.ownsDispatcher = true;
    }
    if (this.transport !== undefined) {
      if (this.ownsDispatcher) await dispatcher.close().catch(() => undefined);
      return this.transport;
    }
    this.dispatcher = dispatcher;
    this.transport = new HttpTransport({
      dispatcher,
      userAgent: this.opts.userAgent ?? 'imgtool',
      ...(this.opts.retry === undefined ? {} : { retry: this.opts.retry }),
      ...(this.opts.log === undefined ? {} : { log: this.opts.log }),
      ...(this.opts.warn === undefined ? {} : { warn: this.opts.warn }),
      onRequest: () => {
        this.stats.requests++;
      },
    });
    return this.transport;
  }

  /**
   * Pings `/v2/` and settles the scheme and the challenge. Done once per client; every other
   * operation calls it first. A failure is not cached, so a later call tries again.
   */
  ping(signal?: AbortSignal): Promise<PingResult> {
    if (this.pinged === undefined) {
      this.pinged = this.doPing(this.signalFor(signal));
      this.pinged.catch(() => {
        this.pinged = undefined;
      });
    }
    return this.pinged;
  }

  private async doPing(signal: AbortSignal | undefined): Promise<PingResult> {
    const http = await this.http(signal);
    const httpAllowed = this.insecure || isLoopbackRegistry(this.registry);
    let res: HttpResponse | undefined;
    let scheme: 'https' | 'http' = 'https';
    try {
      res = await http.send({
        method: 'GET',
        url: new URL(`https://${this.registry}/v2/`),
        ...(signal === undefined ? {} : { signal }),
        // With an http fallback, a failing https probe is not retried: the fallback is the retry.
        ...(httpAllowed ? { retry: { attempts: 1 } } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw abortError(signal, `ping ${this.registry}`);
      const codes = errorCodes(err);
      const message = (err as Error).message ?? '';
      if (isCertificateError(codes)) throw this.tlsError(err, codes);
      if (!httpAllowed) {
        if (isNotTlsError(codes, message)) {
          throw new ImgtoolError('REGISTRY_INSECURE', `${this.registry} does not speak TLS (it looks like a plain HTTP server)`, {
            cause: err,
            details: { registry: this.registry },
            hint: `if ${this.registry} is a plain HTTP registry on a trusted network, name it with --insecure-registry ${this.registry}`,
          });
        }
        throw this.unreachable(err, codes, 'https');
      }
      this.opts.log?.(`https to ${this.registry} failed (${codes.join('/') || message}); trying plain http (${this.insecure ? 'insecure registry' : 'loopback'})`);
      scheme = 'http';
      try {
        res = await http.send({ method: 'GET', url: new URL(`http://${this.registry}/v2/`), ...(signal === undefined ? {} : { signal }) });
      } catch (err2) {
        if (signal?.aborted) throw abortError(signal, `ping ${this.registry}`);
        throw this.unreachable(err2, errorCodes(err2), 'https and http');
      }
    }
    const apiVersion = headerValue(res.headers, 'docker-distribution-api-version');
    if (res.status === 200) {
      await res.body.dump().catch(() => undefined);
      this.base = new URL(`${scheme}://${this.registry}`);
      this.auth.setChallenge(undefined);
      return { scheme, ...(apiVersion === undefined ? {} : { apiVersion }) };
    }
    if (res.status === 401) {
      const challenge = preferredChallenge(parseChallenges(res.headers['www-authenticate']));
      await res.body.dump().catch(() => undefined);
      if (challenge === undefined) {
        throw new ImgtoolError('REGISTRY_ERROR', `${this.registry} answered /v2/ with 401 but no usable WWW-Authenticate challenge`, {
          details: { registry: this.registry, status: 401 },
          hint: 'the server may not be a Docker/OCI registry, or a proxy strips the header',
        });
      }
      this.base = new URL(`${scheme}://${this.registry}`);
      this.auth.setChallenge(challenge);
      return { scheme, challenge, ...(apiVersion === undefined ? {} : { apiVersion }) };
    }
    const text = await readText(res.body);
    if (scheme === 'http' && res.status === 400 && /https/i.test(text)) {
      throw new ImgtoolError('REGISTRY_TLS', `${this.registry} speaks TLS, but the https connection failed`, {
        details: { registry: this.registry, status: 400 },
        hint: 'run with --debug to see the TLS error',
      });
    }
    throw registryError(res.status, text, { registry: this.registry, operation: 'ping (GET /v2/)', headers: res.headers },
      res.status === 404 ? `${this.registry} does not serve the Distribution API at /v2/: is it a registry?` : undefined);
  }

  private tlsError(err: unknown, codes: readonly string[]): ImgtoolError {
    return new ImgtoolError('REGISTRY_TLS', `cannot verify the TLS certificate of ${this.registry} (${codes.join('/')})`, {
      cause: err,
      details: { registry: this.registry },
      hint: `trust its CA with --ca-cert <ca.pem>, or put the CA certificate in /etc/docker/certs.d/${this.registry}/ca.crt (as for dockerd); --insecure-registry ${this.registry} skips verification (not recommended)`,
    });
  }

  private unreachable(err: unknown, codes: readonly string[], over: string): ImgtoolError {
    const message = err instanceof Error ? err.message : String(err);
    return new ImgtoolError('REGISTRY_UNREACHABLE', `cannot reach registry ${this.registry} over ${over}: ${codes[0] ?? message}`, {
      cause: err,
      details: { registry: this.registry },
      hint: codes.includes('ENOTFOUND') || codes.includes('EAI_AGAIN')
        ? `check the registry name ${this.registry} and DNS`
        : `check that the registry is running and reachable at ${this.registry}`,
    });
  }

  /**
   * A request whose connection kept failing (reset, refused, cut mid-body) after the
   * transport's retries: an ImgtoolError naming the operation instead of undici's bare
   * SocketError, which the CLI would report as a bug. Other errors pass through unchanged.
   */
  private connectionBroke(err: unknown, c: Call): unknown {
    if (err instanceof ImgtoolError || !isRetryableError(err)) return err;
    const where = c.repository === undefined ? this.registry : `${this.registry}/${c.repository}`;
    return new ImgtoolError('REGISTRY_UNREACHABLE', `${c.operation} on ${where} failed: the connection broke (${errorCodes(err)[0] ?? 'socket error'})`, {
      cause: err,
      details: { registry: this.registry, reference: where },
      hint: `the network or a proxy between here and ${this.registry} keeps dropping connections (imgtool already retried); retry later, and check the proxy and registry logs if it persists`,
    });
  }

  /** Base URL (scheme://host[:port]) after the ping. */
  async baseUrl(signal?: AbortSignal): Promise<URL> {
    await this.ping(signal);
    return this.base as URL;
  }

  /** Sends one request through auth (with the once-only re-challenge) and the transport. */
  private async call(c: Call): Promise<HttpResponse> {
    const signal = this.signalFor(c.signal);
    await this.ping(signal);
    const base = this.base as URL;
    const url = typeof c.target === 'string' ? new URL(c.target, base) : c.target;
    const http = await this.http(signal);
    // Authorization goes only to the registry's own origin (other hosts get no credentials of ours).
    const ownOrigin = url.origin === base.origin;
    let scopes: readonly Scope[] = c.scopes;
    for (let round = 0; ; round++) {
      const authorization = ownOrigin ? await this.auth.header(scopes, signal, c.offline === true) : undefined;
      const res = await http
        .send({
          method: c.method,
          url,
          headers: { ...c.headers, ...(authorization === undefined ? {} : { authorization }) },
          ...(c.body === undefined ? {} : { body: c.body }),
          ...(signal === undefined ? {} : { signal }),
          ...(c.retry === undefined ? {} : { retry: c.retry }),
        })
        .catch((err: unknown) => {
          throw this.connectionBroke(err, c);
        });
      if (res.status !== 401 || round > 0 || !ownOrigin) return res;
      const canResend = typeof c.body !== 'function' || c.body.reusable !== false;
      const next = this.auth.rechallenge(res.headers['www-authenticate'], scopes, authorization !== undefined);
      if (next === undefined || !canResend) return res;
      this.opts.log?.(`401 from ${this.registry}: re-challenged, retrying once with [${next.map((s) => `${s.name}:${s.actions.join(',')}`).join(' ')}]`);
      await res.body.dump().catch(() => undefined);
      scopes = next;
    }
  }

  /** Throws the registry's error unless `res.status` is one of `ok`. */
  private async expect(res: HttpResponse, ok: readonly number[], c: Pick<Call, 'operation' | 'repository'>): Promise<void> {
    if (ok.includes(res.status)) return;
    const text = c.operation.startsWith('HEAD') ? '' : await readText(res.body);
    if (c.operation.startsWith('HEAD')) await res.body.dump().catch(() => undefined);
    let body = text;
    if (body === '' && res.status === 401) {
      // HEAD answers have no body; the challenge's error/error_description says why.
      const ch = preferredChallenge(parseChallenges(res.headers['www-authenticate']));
      const why = ch?.params['error_description'] ?? ch?.params['error'];
      if (why !== undefined) body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: why }] });
    }
    throw registryError(res.status, body, {
      registry: this.registry,
      operation: c.operation,
      ...(c.repository === undefined ? {} : { repository: c.repository }),
      headers: res.headers,
    });
  }

  /**
   * Checks that the credentials are accepted: ping, answer the challenge (Basic, or a Bearer
   * token asked for with an offline/refresh token as `docker login` does), then `GET /v2/`
   * with it, which must answer 200. Returns whether the registry asked for authentication.
   */
  async checkLogin(opts: { signal?: AbortSignal } = {}): Promise<{ authRequired: boolean }> {
    const ping = await this.ping(opts.signal);
    if (ping.challenge === undefined) return { authRequired: false };
    const c: Call = {
      method: 'GET',
      target: '/v2/',
      scopes: [],
      offline: true,
      operation: 'login (GET /v2/)',
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await this.expect(res, [200], c);
    await res.body.dump().catch(() => undefined);
    return { authRequired: true };
  }

  /**
   * A request to the registry host outside the Distribution API (Harbor's `/api/v2.0`, for
   * diagnostics), over the scheme the ping settled. No registry token is attached; pass
   * `authorization` explicitly when the API takes Basic credentials. Retried once at most.
   */
  async apiRequest(method: 'GET' | 'HEAD', path: string, opts: { signal?: AbortSignal; authorization?: string } = {}): Promise<HttpResponse> {
    const signal = this.signalFor(opts.signal);
    const base = await this.baseUrl(signal);
    const http = await this.http(signal);
    return http.send({
      method,
      url: new URL(path, base),
      headers: { accept: 'application/json', ...(opts.authorization === undefined ? {} : { authorization: opts.authorization }) },
      retry: { attempts: 2 },
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /**
   * Fetches (and caches) the credentials for `scopes` ahead of the requests that need them, so
   * a push asks the token service once for pull+push instead of pull first and push later.
   */
  async authorize(scopes: readonly Scope[], signal?: AbortSignal): Promise<void> {
    const s = this.signalFor(signal);
    await this.ping(s);
    await this.auth.header(scopes, s);
  }

  /** The challenge the registry answered /v2/ with (after {@link ping}), if any. */
  get challenge(): Challenge | undefined {
    return this.auth.challenge;
  }

  // ---- manifests ----------------------------------------------------------------------

  /** GET a manifest or index by tag or digest; the bytes are verified when `reference` is a digest. */
  async getManifest(repository: string, reference: string, opts: { signal?: AbortSignal; accept?: readonly string[] } = {}): Promise<FetchedManifest> {
    const c: Call = {
      method: 'GET',
      target: `/v2/${encodeRepoPath(repository)}/manifests/${encodeURIComponent(reference)}`,
      scopes: [pullScope(repository)],
      headers: { accept: (opts.accept ?? MANIFEST_ACCEPT).join(', ') },
      operation: `GET manifest ${reference}`,
      repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.readManifest(c, repository, reference);
      } catch (err) {
        // The transport retries until an answer starts; one that broke off mid-body is asked for again here (a GET is safe to repeat).
        if (isImgtoolError(err) || !isRetryableError(err)) throw err;
        if (attempt >= BODY_ATTEMPTS || c.signal?.aborted === true) throw this.connectionBroke(err, c);
        this.opts.log?.(`${c.operation}: the answer broke off (${errorCodes(err)[0] ?? 'socket error'}); asking again`);
      }
    }
  }

  /** One GET of a manifest, read whole (bounded) and checked against its digest. */
  private async readManifest(c: Call, repository: string, reference: string): Promise<FetchedManifest> {
    const res = await this.call(c);
    await this.expect(res, [200], c);
    const declared = Number(headerValue(res.headers, 'content-length'));
    if (declared > MAX_MANIFEST_BYTES) {
      res.body.destroy();
      throw new ImgtoolError('MANIFEST_INVALID', `manifest ${repository}:${reference} is ${declared} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have`, {
        details: { registry: this.registry, reference: `${repository}:${reference}` },
      });
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > MAX_MANIFEST_BYTES) {
        res.body.destroy();
        throw new ImgtoolError('MANIFEST_INVALID', `manifest ${repository}:${reference} exceeds ${MAX_MANIFEST_BYTES} bytes`, {
          details: { registry: this.registry },
        });
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    const digest = digestOf(bytes);
    const expected = reference.includes(':') ? reference : headerValue(res.headers, 'docker-content-digest');
    if (expected !== undefined && expected.startsWith('sha256:') && expected !== digest) {
      throw new ImgtoolError('DIGEST_MISMATCH', `manifest ${repository}:${reference} from ${this.registry} hashes to ${digest}, not ${expected}`, {
        details: { registry: this.registry, expected, actual: digest },
        hint: 'the registry or a proxy altered the manifest; do not trust it',
      });
    }
    const mediaType = (headerValue(res.headers, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
    return { bytes, mediaType, digest };
  }

  /** HEAD a manifest: undefined when it does not exist. */
  async headManifest(repository: string, reference: string, opts: { signal?: AbortSignal } = {}): Promise<ManifestHead | undefined> {
    const c: Call = {
      method: 'HEAD',
      target: `/v2/${encodeRepoPath(repository)}/manifests/${encodeURIComponent(reference)}`,
      scopes: [pullScope(repository)],
      headers: { accept: MANIFEST_ACCEPT.join(', ') },
      operation: `HEAD manifest ${reference}`,
      repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    if (res.status === 404) {
      await res.body.dump().catch(() => undefined);
      return undefined;
    }
    await this.expect(res, [200], c);
    await res.body.dump().catch(() => undefined);
    const digest = headerValue(res.headers, 'docker-content-digest');
    const mediaType = headerValue(res.headers, 'content-type')?.split(';')[0]?.trim();
    const length = headerValue(res.headers, 'content-length');
    return {
      ...(digest === undefined ? {} : { digest }),
      ...(mediaType === undefined ? {} : { mediaType }),
      ...(length === undefined ? {} : { size: Number(length) }),
    };
  }

  /**
   * PUT a manifest under a tag or digest with `Content-Type` = its media type; returns the
   * digest (sha256 of the exact bytes), checked against `Docker-Content-Digest` when sent.
   */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    const c: Call = {
      method: 'PUT',
      target: `/v2/${encodeRepoPath(repository)}/manifests/${encodeURIComponent(reference)}`,
      scopes: [pushScope(repository)],
      headers: { 'content-type': mediaType },
      body: bytes,
      operation: `PUT manifest ${reference}`,
      repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await this.expect(res, [200, 201, 202], c);
    await res.body.dump().catch(() => undefined);
    this.stats.manifestPuts++;
    const digest = digestOf(bytes);
    const said = headerValue(res.headers, 'docker-content-digest');
    if (said !== undefined && said.startsWith('sha256:') && said !== digest) {
      throw new ImgtoolError('DIGEST_MISMATCH', `${this.registry} stored manifest ${repository}:${reference} as ${said}, but the bytes sent hash to ${digest}`, {
        details: { registry: this.registry, expected: digest, actual: said },
        hint: 'the registry rewrote the manifest; pull by tag and check what it holds',
      });
    }
    return digest;
  }

  /** DELETE a manifest by digest (registries refuse tags here). */
  async deleteManifest(repository: string, digest: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    const c: Call = {
      method: 'DELETE',
      target: `/v2/${encodeRepoPath(repository)}/manifests/${encodeURIComponent(digest)}`,
      scopes: [{ type: 'repository', name: repository, actions: ['delete'] }],
      operation: `DELETE manifest ${digest}`,
      repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await this.expect(res, [202, 200], c);
    await res.body.dump().catch(() => undefined);
  }

  // ---- blobs ------------------------------------------------------------------------

  /** HEAD a blob: its size when the repository has it, undefined when not (404). */
  async headBlob(repository: string, digest: string, opts: { signal?: AbortSignal } = {}): Promise<{ size?: number } | undefined> {
    const c: Call = {
      method: 'HEAD',
      target: `/v2/${encodeRepoPath(repository)}/blobs/${encodeURIComponent(digest)}`,
      scopes: [pullScope(repository)],
      operation: `HEAD blob ${digest}`,
      repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await res.body.dump().catch(() => undefined);
    if (res.status === 404) return undefined;
    await this.expect(res, [200], c);
    const length = headerValue(res.headers, 'content-length');
    return length === undefined ? {} : { size: Number(length) };
  }

  /**
   * GET a blob as a stream that fails with DIGEST_MISMATCH at its end when the content does
   * not hash to `digest` (or its length differs from `size`). Redirects to storage are
   * followed without our Authorization.
   */
  async getBlob(repository: string, digest: string, opts: { signal?: AbortSignal; size?: number } = {}): Promise<Readable> {
    const c: Call = {
      method: 'GET',
      target: `/v2/${encodeRepoPath(repository)}/blobs/${encodeURIComponent(digest)}`,
      scopes: [pullScope(repository)],
      operation: `GET blob ${digest}`,
      repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await this.expect(res, [200], c);
    const verify = verifyingStream(digest, opts.size, { what: `blob ${digest} of ${this.registry}/${repository}` });
    const body = res.body as unknown as Readable;
    // A body cut mid-stream becomes a coded error naming the blob, not undici's bare SocketError.
    body.on('error', (err) => verify.destroy(this.connectionBroke(err, c) as Error));
    return body.pipe(verify);
  }

  /**
   * Cross-repository mount: `POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>`.
   * 201 → mounted; 202 → the registry started an ordinary upload instead (returned as a
   * session). When the credentials cannot read `from`, the answer is "not mounted" without a
   * session and the caller uploads normally.
   */
  async mountBlob(repository: string, digest: string, from: string, opts: { signal?: AbortSignal } = {}): Promise<MountResult> {
    const c: Call = {
      method: 'POST',
      target: `/v2/${encodeRepoPath(repository)}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scopes: [pushScope(repository), pullScope(from)],
      headers: { 'content-length': '0' },
      operation: `mount blob ${digest} from ${from}`,
      repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    if (res.status === 201) {
      await res.body.dump().catch(() => undefined);
      this.stats.mounts++;
      return { mounted: true };
    }
    if (res.status === 202) {
      await res.body.dump().catch(() => undefined);
      return { mounted: false, session: this.sessionFrom(res, repository, 0) };
    }
    if (res.status === 401 || res.status === 403 || res.status === 404) {
      // No read access to `from` (or no such repository): not an error, just no mount.
      await res.body.dump().catch(() => undefined);
      this.opts.log?.(`mount of ${digest} from ${from} refused (HTTP ${res.status}); uploading instead`);
      return { mounted: false };
    }
    await this.expect(res, [201, 202], c);
    return { mounted: false };
  }

  private sessionFrom(res: HttpResponse, repository: string, offset: number, previous?: UploadSession): UploadSession {
    const loc = headerValue(res.headers, 'location');
    if (loc === undefined) {
      throw new ImgtoolError('REGISTRY_ERROR', `${this.registry} answered an upload request without a Location header`, {
        details: { registry: this.registry, status: res.status, reference: `${this.registry}/${repository}` },
      });
    }
    // "Location may be absolute or relative": resolve against the URL that answered, never rebuild it.
    const location = new URL(loc, res.url);
    const minHeader = headerValue(res.headers, 'oci-chunk-min-length');
    const min = minHeader !== undefined && /^\d+$/.test(minHeader) ? Number(minHeader) : previous?.minChunkLength;
    let received = parseUploadRange(headerValue(res.headers, 'range'));
    // Distribution writes "0-0" both for an empty upload and for one byte; we know which we sent.
    if (received === 1 && offset === 0) received = 0;
    return {
      repository,
      location,
      offset: received ?? offset,
      ...(min === undefined ? {} : { minChunkLength: min }),
    };
  }

  /** Starts an upload: `POST /v2/<name>/blobs/uploads/` → 202 with Location. */
  async startUpload(repository: string, opts: { signal?: AbortSignal } = {}): Promise<UploadSession> {
    const c: Call = {
      method: 'POST',
      target: `/v2/${encodeRepoPath(repository)}/blobs/uploads/`,
      scopes: [pushScope(repository)],
      headers: { 'content-length': '0' },
      operation: 'start blob upload',
      repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await this.expect(res, [202], c);
    await res.body.dump().catch(() => undefined);
    return this.sessionFrom(res, repository, 0);
  }

  /**
   * Sends one chunk: `PATCH <location>` with `Content-Range: <start>-<end>` (inclusive, no
   * unit) and `Content-Length`. Returns the session with the new Location and offset. A 416
   * (out of order) is answered by asking the registry where it stands (GET upload status) and
   * returning that, so the caller can resume from the registry's offset.
   */
  async uploadChunk(session: UploadSession, body: RequestBody, length: number, opts: { signal?: AbortSignal } = {}): Promise<UploadSession> {
    const start = session.offset;
    const c: Call = {
      method: 'PATCH',
      target: session.location,
      scopes: [pushScope(session.repository)],
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(length),
        'content-range': `${start}-${start + length - 1}`,
      },
      body,
      operation: `upload chunk ${start}-${start + length - 1}`,
      repository: session.repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    if (res.status === 416) {
      await res.body.dump().catch(() => undefined);
      this.opts.log?.(`416 for chunk at ${start}: asking ${this.registry} for the upload status`);
      return this.uploadStatus(session, opts);
    }
    await this.expect(res, [202, 204], c);
    await res.body.dump().catch(() => undefined);
    this.stats.bytesUploaded += length;
    return this.sessionFrom(res, session.repository, start + length, session);
  }

  /** Streams a whole body in one PATCH without Content-Range (the spec's "streamed" upload). */
  async uploadStream(session: UploadSession, body: RequestBody, opts: { signal?: AbortSignal; onBytes?: (n: number) => void } = {}): Promise<UploadSession> {
    const c: Call = {
      method: 'PATCH',
      target: session.location,
      scopes: [pushScope(session.repository)],
      headers: { 'content-type': 'application/octet-stream' },
      body,
      operation: 'upload blob (streamed)',
      repository: session.repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await this.expect(res, [202, 204], c);
    await res.body.dump().catch(() => undefined);
    const next = this.sessionFrom(res, session.repository, session.offset, session);
    this.stats.bytesUploaded += next.offset - session.offset;
    return next;
  }

  /**
   * Completes an upload: `PUT <location>?digest=<d>` (digest merged into the Location's query),
   * optionally carrying the last (or only) bytes — a monolithic upload is exactly this with
   * the whole blob. 201 expected; the registry's Docker-Content-Digest must match.
   */
  async finishUpload(
    session: UploadSession,
    digest: string,
    opts: { signal?: AbortSignal; body?: RequestBody; length?: number } = {},
  ): Promise<void> {
    const length = opts.body === undefined ? 0 : (opts.length ?? (typeof opts.body === 'function' ? undefined : Buffer.byteLength(opts.body)));
    const c: Call = {
      method: 'PUT',
      target: withDigestParam(session.location, digest),
      scopes: [pushScope(session.repository)],
      headers: {
        'content-type': 'application/octet-stream',
        ...(length === undefined ? {} : { 'content-length': String(length) }),
      },
      ...(opts.body === undefined ? {} : { body: opts.body }),
      operation: `complete upload of ${digest}`,
      repository: session.repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await this.expect(res, [201, 204], c);
    await res.body.dump().catch(() => undefined);
    if (length !== undefined) this.stats.bytesUploaded += length;
    this.stats.blobUploads++;
    const said = headerValue(res.headers, 'docker-content-digest');
    if (said !== undefined && said !== digest) {
      throw new ImgtoolError('DIGEST_MISMATCH', `${this.registry} stored the blob as ${said}, expected ${digest}`, {
        details: { registry: this.registry, expected: digest, actual: said },
      });
    }
  }

  /** Asks where an upload stands: `GET <location>` → 204 with `Range: 0-<end>`. */
  async uploadStatus(session: UploadSession, opts: { signal?: AbortSignal } = {}): Promise<UploadSession> {
    const c: Call = {
      method: 'GET',
      target: session.location,
      scopes: [pushScope(session.repository)],
      operation: 'upload status',
      repository: session.repository,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    };
    const res = await this.call(c);
    await this.expect(res, [204, 200], c);
    await res.body.dump().catch(() => undefined);
    const range = headerValue(res.headers, 'range');
    // "0-0" is ambiguous (nothing, or one byte); resuming from 0 is the safe reading.
    const received = range?.trim() === '0-0' ? 0 : parseUploadRange(range);
    const next = headerValue(res.headers, 'location') === undefined ? session : this.sessionFrom(res, session.repository, session.offset, session);
    return { ...next, offset: received ?? 0 };
  }

  /** Cancels an upload (`DELETE <location>` → 204); failures are logged, not thrown. */
  async cancelUpload(session: UploadSession, opts: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      const res = await this.call({
        method: 'DELETE',
        target: session.location,
        scopes: [pushScope(session.repository)],
        operation: 'cancel upload',
        repository: session.repository,
        retry: { attempts: 1 },
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      });
      await res.body.dump().catch(() => undefined);
    } catch (err) {
      this.opts.log?.(`cancel upload at ${session.location.pathname} failed: ${(err as Error).message}`);
    }
  }

  // ---- tags -------------------------------------------------------------------------

  /** Every tag of a repository, following `Link: <...>; rel="next"` pages. */
  async listTags(repository: string, opts: { signal?: AbortSignal; pageSize?: number } = {}): Promise<string[]> {
    const tags: string[] = [];
    let target: string | URL = `/v2/${encodeRepoPath(repository)}/tags/list${opts.pageSize === undefined ? '' : `?n=${opts.pageSize}`}`;
    for (let page = 0; page < 10_000; page++) {
      const c: Call = {
        method: 'GET',
        target,
        scopes: [pullScope(repository)],
        operation: 'list tags',
        repository,
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      };
      const res = await this.call(c);
      await this.expect(res, [200], c);
      const text = await readText(res.body, 16 * 1024 * 1024);
      let parsed: { tags?: unknown };
      try {
        parsed = JSON.parse(text) as { tags?: unknown };
      } catch (err) {
        throw new ImgtoolError('REGISTRY_ERROR', `${this.registry} answered the tag list of ${repository} with invalid JSON`, { cause: err, details: { registry: this.registry } });
      }
      if (Array.isArray(parsed.tags)) tags.push(...parsed.tags.filter((t): t is string => typeof t === 'string'));
      const next = nextLink(res.headers);
      if (next === undefined) return tags;
      target = new URL(next, res.url);
    }
    return tags;
  }
}

/** The `rel="next"` target of a `Link` header (RFC 8288), if any. */
export function nextLink(headers: Headers): string | undefined {
  const values = headers['link'];
  const list = values === undefined ? [] : Array.isArray(values) ? values : [values];
  for (const value of list) {
    for (const part of value.split(/,(?=\s*<)/)) {
      const m = /<([^>]*)>\s*(.*)$/.exec(part.trim());
      if (!m) continue;
      if (/(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(m[2] ?? '')) return m[1];
    }
  }
  return undefined;
}

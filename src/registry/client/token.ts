/**
 * Bearer tokens ("Docker Registry v2 authentication via central service", distribution
 * docs/spec/auth/token.md and oauth.md):
 *  - GET  <realm>?service=<svc>&scope=<s1>&scope=<s2> with Basic credentials when there are any;
 *  - POST <realm> with a form (grant_type=password | refresh_token, service, client_id, scope,
 *    access_type=offline) — the OAuth2 flow, used when an identity (refresh) token exists or an
 *    offline token is wanted; a 404 ("not supported") or 405 (Harbor) falls back to GET.
 * The answer's `token` and `access_token` mean the same; `expires_in` defaults to 60 s.
 */
import { ImgtoolError } from '../../image/errors.js';
import { formatScope, type Scope } from './scope.js';
import { readText, type HttpTransport } from './transport.js';
import { registryError } from './registry-errors.js';
import type { RegistryCredentials } from './types.js';
import { isLoopbackRegistry } from '../../image/reference.js';

/** The client id imgtool presents to OAuth2 token endpoints. */
export const CLIENT_ID = 'imgtool';

/** The spec's minimum (and default) token lifetime. */
const MIN_EXPIRES_IN = 60;

/** A token ready to use. */
export interface BearerToken {
  readonly token: string;
  /** Epoch ms after which the token must not be used. */
  readonly expiresAt: number;
  /** An OAuth2 refresh token, when the service issued one (becomes the identity token). */
  readonly refreshToken?: string;
}

/** What to ask the token service for. */
export interface TokenRequest {
  readonly realm: string;
  readonly service?: string;
  readonly scopes: readonly Scope[];
  readonly credentials?: RegistryCredentials;
  /** Ask for a refresh token (login: docker stores it as the identity token). */
  readonly offline?: boolean;
  /** Registry host the realm came from, for messages. */
  readonly registry: string;
  readonly signal?: AbortSignal;
}

/**
 * Realm sanity (go-containerregistry's check): credentials never travel over plain HTTP to a
 * host that is not this machine, unless the user named the registry insecure. Throws
 * REGISTRY_INSECURE otherwise, with the usual cause (Harbor behind a TLS proxy, harbor#3114).
 */
export function checkRealm(realm: string, registry: string, registryInsecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch (err) {
    throw new ImgtoolError('REGISTRY_ERROR', `registry ${registry} sent an invalid token realm ${JSON.stringify(realm.slice(0, 200))}`, {
      cause: err,
      details: { registry },
    });
  }
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && (isLoopbackRegistry(url.host) || registryInsecure)) return url;
  if (url.protocol === 'http:') {
    throw new ImgtoolError(
      'REGISTRY_INSECURE',
      `registry ${registry} asks for credentials at ${url.origin} over plain http; refusing to send them unencrypted`,
      {
        details: { registry, realm: url.origin },
        hint: `the registry's external URL is probably misconfigured behind a TLS proxy (for Harbor: set external_url to https://...). If ${registry} really is plain HTTP on a trusted network, name it with --insecure-registry ${registry}`,
      },
    );
  }
  throw new ImgtoolError('REGISTRY_ERROR', `registry ${registry} sent a token realm with unsupported scheme ${url.protocol}`, {
    details: { registry },
  });
}

function basicHeader(creds: RegistryCredentials | undefined): string | undefined {
  if (creds?.username === undefined || creds.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`;
}

function parseTokenBody(text: string, registry: string, now: number): BearerToken {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new ImgtoolError('REGISTRY_ERROR', `the token service of ${registry} answered with something that is not JSON`, { cause: err, details: { registry } });
  }
  const token = typeof body['access_token'] === 'string' && body['access_token'] !== '' ? body['access_token'] : body['token'];
  if (typeof token !== 'string' || token === '') {
    throw new ImgtoolError('REGISTRY_ERROR', `the token service of ${registry} answered without a token`, { details: { registry } });
  }
  const expiresIn = typeof body['expires_in'] === 'number' && body['expires_in'] >= MIN_EXPIRES_IN ? body['expires_in'] : MIN_EXPIRES_IN;
  const issuedRaw = typeof body['issued_at'] === 'string' ? Date.parse(body['issued_at']) : Number.NaN;
  // Trust issued_at only when it is near our clock; a skewed server clock must not expire tokens early.
  const issued = Number.isNaN(issuedRaw) || Math.abs(issuedRaw - now) > 5 * 60_000 ? now : issuedRaw;
  // Renew a little early so a token does not expire in flight.
  const margin = Math.min(10_000, expiresIn * 100);
  const refresh = body['refresh_token'];
  return {
    token,
    expiresAt: issued + expiresIn * 1000 - margin,
    ...(typeof refresh === 'string' && refresh !== '' ? { refreshToken: refresh } : {}),
  };
}

async function failToken(res: { status: number; headers: Record<string, string | string[] | undefined>; body: Parameters<typeof readText>[0] }, req: TokenRequest): Promise<never> {
  const text = await readText(res.body);
  if (res.status === 401 || res.status === 403) {
    const who = req.credentials?.username;
    throw new ImgtoolError(
      'REGISTRY_UNAUTHORIZED',
      `the token service of ${req.registry} refused ${who === undefined ? (req.credentials?.identityToken ? 'the stored identity token' : 'anonymous access') : `the credentials of ${JSON.stringify(who)}`} (HTTP ${res.status})`,
      {
        details: { registry: req.registry, status: res.status },
        hint:
          who === undefined && !req.credentials?.identityToken
            ? `log in with \`imgtool login ${req.registry}\``
            : `check the username and password (or token), then run \`imgtool login ${req.registry}\` again`,
      },
    );
  }
  throw registryError(res.status, text, { registry: req.registry, operation: 'token request', headers: res.headers });
}

/** GET flavour: Basic credentials, scopes as repeated query parameters. */
async function fetchTokenGet(http: HttpTransport, realm: URL, req: TokenRequest): Promise<BearerToken> {
  const url = new URL(realm.href);
  if (req.service !== undefined) url.searchParams.set('service', req.service);
  for (const s of req.scopes) url.searchParams.append('scope', formatScope(s));
  if (req.offline) {
    url.searchParams.set('offline_token', 'true');
    url.searchParams.set('client_id', CLIENT_ID);
  }
  const auth = basicHeader(req.credentials);
  const now = Date.now();
  const res = await http.send({
    method: 'GET',
    url,
    headers: auth === undefined ? {} : { authorization: auth },
    ...(req.signal === undefined ? {} : { signal: req.signal }),
  });
  if (res.status !== 200) return failToken(res, req);
  return parseTokenBody(await readText(res.body, 1024 * 1024), req.registry, now);
}

/** POST flavour (OAuth2 form). Returns undefined when the service does not support it (404/405). */
async function fetchTokenPost(http: HttpTransport, realm: URL, req: TokenRequest): Promise<BearerToken | undefined> {
  const form = new URLSearchParams();
  const creds = req.credentials;
  if (creds?.identityToken) {
    form.set('grant_type', 'refresh_token');
    form.set('refresh_token', creds.identityToken);
  } else if (creds?.username !== undefined && creds.password !== undefined) {
    form.set('grant_type', 'password');
    form.set('username', creds.username);
    form.set('password', creds.password);
  } else {
    return undefined;
  }
  if (req.service !== undefined) form.set('service', req.service);
  form.set('client_id', CLIENT_ID);
  if (req.scopes.length > 0) form.set('scope', req.scopes.map(formatScope).join(' '));
  if (req.offline) form.set('access_type', 'offline');
  const now = Date.now();
  const res = await http.send({
    method: 'POST',
    url: realm,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    ...(req.signal === undefined ? {} : { signal: req.signal }),
  });
  if (res.status === 404 || res.status === 405) {
    // The service has no OAuth2 endpoint (Harbor answers 405): the spec says fall back to GET.
    await res.body.dump().catch(() => undefined);
    return undefined;
  }
  if (res.status !== 200) return failToken(res, req);
  return parseTokenBody(await readText(res.body, 1024 * 1024), req.registry, now);
}

/**
 * Fetches a token: OAuth2 POST first when there is an identity token or an offline token is
 * wanted with a password, else (or on 404/405) GET with Basic credentials.
 */
export async function fetchToken(http: HttpTransport, realm: URL, req: TokenRequest): Promise<BearerToken> {
  const wantsPost = Boolean(req.credentials?.identityToken) || (req.offline === true && req.credentials?.password !== undefined);
  if (wantsPost) {
    const viaPost = await fetchTokenPost(http, realm, req);
    if (viaPost !== undefined) return viaPost;
  }
  return fetchTokenGet(http, realm, req);
}

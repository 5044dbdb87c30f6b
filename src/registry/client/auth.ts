/**
 * The auth step of the transport chain. The registry's ping challenge says how to
 * authenticate: "Basic" → send the credentials on every request; "Bearer" → get a token for
 * the request's scopes from the realm and send it. Tokens are cached per scope set until they
 * expire; concurrent requests for the same scope set share one token request. On a 401 in the
 * middle of a session the spec says: read the new challenge, add its scope, fetch a new token
 * and retry once (client.ts does the retrying; this class computes the new scope set).
 */
import { ImgtoolError } from '../../image/errors.js';
import { preferredChallenge, parseChallenges, type Challenge } from './challenge.js';
import { parseScopeParam, scopeKey, scopesCover, unionScopes, type Scope } from './scope.js';
import { checkRealm, fetchToken, type BearerToken } from './token.js';
import type { HttpTransport } from './transport.js';
import type { LogFn, RegistryCredentials } from './types.js';

/** Options for {@link Authenticator}. */
export interface AuthenticatorOptions {
  readonly http: HttpTransport;
  /** Registry host[:port], for messages and realm checks. */
  readonly registry: string;
  readonly credentials?: RegistryCredentials;
  /** The registry was named insecure: an http realm is acceptable. */
  readonly insecure: boolean;
  readonly log?: LogFn;
}

/** Decides the Authorization header of each request. */
export class Authenticator {
  private challengeNow: Challenge | undefined;
  private readonly tokens = new Map<string, BearerToken>();
  private readonly scopesOf = new Map<string, Scope[]>();
  private readonly pending = new Map<string, Promise<BearerToken>>();
  private lastRefreshToken: string | undefined;
  /** Token requests made (tests assert caching through it). */
  tokenRequests = 0;

  constructor(private readonly opts: AuthenticatorOptions) {}

  /** The challenge in force (from the ping or the last 401). */
  get challenge(): Challenge | undefined {
    return this.challengeNow;
  }

  /** The refresh token the token service issued, if it issued one (login's identity token). */
  get refreshToken(): string | undefined {
    return this.lastRefreshToken;
  }

  /** True when there are credentials to present. */
  get hasCredentials(): boolean {
    const c = this.opts.credentials;
    return Boolean(c && ((c.username !== undefined && c.password !== undefined) || c.identityToken || c.registryToken));
  }

  /** Adopts the challenge from the registry's `/v2/` answer. */
  setChallenge(challenge: Challenge | undefined): void {
    this.challengeNow = challenge;
  }

  /** The Authorization header for a request needing `scopes`, or undefined (anonymous). */
  async header(scopes: readonly Scope[], signal?: AbortSignal, offline = false): Promise<string | undefined> {
    const ch = this.challengeNow;
    if (ch === undefined) return undefined;
    const creds = this.opts.credentials;
    if (ch.scheme === 'basic') {
      if (creds?.username === undefined || creds.password === undefined) return undefined;
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`;
    }
    if (ch.scheme !== 'bearer') return undefined;
    if (creds?.registryToken) return `Bearer ${creds.registryToken}`;
    const token = await this.token(ch, scopes, signal, offline);
    return `Bearer ${token.token}`;
  }

  private async token(ch: Challenge, scopes: readonly Scope[], signal: AbortSignal | undefined, offline: boolean): Promise<BearerToken> {
    const realmText = ch.params['realm'];
    const service = ch.params['service'];
    const prefix = `${realmText ?? ''}\u0000${service ?? ''}\u0000`;
    const key = `${prefix}${scopeKey(scopes)}${offline ? '\u0000offline' : ''}`;
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expiresAt > Date.now()) return cached;
    if (!offline) {
      // A live token asked for a superset of these scopes serves too (a push token covers pulls).
      for (const [k, t] of this.tokens) {
        if (k.startsWith(prefix) && !k.endsWith('\u0000offline') && t.expiresAt > Date.now() && scopesCover(this.scopesOf.get(k) ?? [], scopes)) return t;
      }
    }
    const inFlight = this.pending.get(key);
    if (inFlight !== undefined) return inFlight;
    if (realmText === undefined || realmText === '') {
      throw new ImgtoolError('REGISTRY_ERROR', `registry ${this.opts.registry} asked for a bearer token without naming a realm`, {
        details: { registry: this.opts.registry },
      });
    }
    const realm = checkRealm(realmText, this.opts.registry, this.opts.insecure);
    const creds = this.opts.credentials;
    const p = (async () => {
      this.tokenRequests++;
      this.opts.log?.(`token for [${scopeKey(scopes)}] from ${realm.origin}${realm.pathname}`);
      const t = await fetchToken(this.opts.http, realm, {
        realm: realmText,
        ...(service === undefined ? {} : { service }),
        scopes: unionScopes(scopes),
        ...(creds === undefined ? {} : { credentials: creds }),
        offline,
        registry: this.opts.registry,
        ...(signal === undefined ? {} : { signal }),
      });
      if (t.refreshToken !== undefined) this.lastRefreshToken = t.refreshToken;
      this.tokens.set(key, t);
      this.scopesOf.set(key, unionScopes(scopes));
      return t;
    })();
    this.pending.set(key, p);
    try {
      return await p;
    } finally {
      this.pending.delete(key);
    }
  }

  /**
   * Handles a 401's `WWW-Authenticate`: adopts the new challenge and returns the scope set to
   * retry with (the old one plus the challenge's `scope`), or undefined when retrying cannot
   * help (Basic credentials already sent and refused, or no usable challenge).
   */
  rechallenge(wwwAuthenticate: string | string[] | undefined, scopes: readonly Scope[], sentAuthorization: boolean): Scope[] | undefined {
    const ch = preferredChallenge(parseChallenges(wwwAuthenticate));
    if (ch === undefined) return undefined;
    const before = this.challengeNow;
    this.challengeNow = ch;
    if (ch.scheme === 'basic') {
      // Basic credentials that were sent and refused stay refused; retry only if we sent none yet.
      return !sentAuthorization && this.hasCredentials ? [...scopes] : undefined;
    }
    if (ch.scheme !== 'bearer') return undefined;
    if (this.opts.credentials?.registryToken && before?.scheme === 'bearer') return undefined;
    const merged = unionScopes(scopes, parseScopeParam(ch.params['scope']));
    // The cached token was refused: forget it (and the merged set's, if any) so a fresh one is fetched.
    for (const key of [...this.tokens.keys()]) {
      if (key.endsWith(`\u0000${scopeKey(scopes)}`) || key.endsWith(`\u0000${scopeKey(merged)}`) || scopesCover(this.scopesOf.get(key) ?? [], scopes)) {
        this.tokens.delete(key);
        this.scopesOf.delete(key);
      }
    }
    return merged;
  }
}

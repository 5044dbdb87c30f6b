/**
 * A registry token service in test code (the "Docker Registry v2 authentication" protocol):
 * checks Basic credentials (GET) or an OAuth2 form (POST, when enabled) and answers
 * `{token, access_token, expires_in, issued_at}` with an RS256 JWT whose header carries `x5c`
 * (the signing certificate, base64 DER), which the registry verifies against its
 * `auth.token.rootcertbundle`. It stands in for Harbor's `/service/token` and Docker Hub's
 * auth host; it is not a fake of the registry itself (the registry is the real one).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createPrivateKey, randomBytes, randomUUID, sign, timingSafeEqual, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { pemToDerBase64 } from './certs.js';

/** Actions an account gets on repositories whose name matches `pattern` (`*` matches anything, `/` included). */
export interface TokenGrant {
  readonly pattern: string;
  readonly actions: readonly string[];
}

/** One account of the token service. */
export interface TokenAccount {
  readonly username: string;
  readonly password: string;
  readonly grants: readonly TokenGrant[];
}

/** How a token service behaves. */
export interface TokenServiceOptions {
  /** JWT `iss`; must equal the registry's `auth.token.issuer`. */
  readonly issuer: string;
  /** Expected `service` and the JWT `aud`; must equal the registry's `auth.token.service`. */
  readonly service: string;
  readonly signingKeyFile: string;
  readonly signingCertFile: string;
  readonly accounts: readonly TokenAccount[];
  /** Grants of an anonymous request (no Authorization header). */
  readonly anonymousGrants?: readonly TokenGrant[];
  /** Accept OAuth2 POST (grant_type=password|refresh_token) like auth.docker.io; otherwise POST answers 405 like Harbor. */
  readonly oauthPost: boolean;
  /** Token lifetime in seconds. */
  readonly expiresIn: number;
  /** Called with every token and refresh token handed out (for "no secret printed" checks). */
  readonly onIssue?: (secret: string) => void;
}

/** Counters a test can read. */
export interface TokenServiceStats {
  get: number;
  post: number;
  denied: number;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return re.test(name);
}

/** Parses `type[(class)]:name:actions`; the name may itself contain ':' (host:port/repo). */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first < 0 || last <= first) return undefined;
  return { type: scope.slice(0, first).replace(/\(.*\)$/, ''), name: scope.slice(first + 1, last), actions: scope.slice(last + 1).split(',').filter(Boolean) };
}

/** Makes the request handler of a token service; mount it at any path. */
export function tokenHandler(options: TokenServiceOptions): { handle: (req: IncomingMessage, res: ServerResponse) => void; stats: TokenServiceStats } {
  const key: KeyObject = createPrivateKey(readFileSync(options.signingKeyFile));
  const x5c = [pemToDerBase64(options.signingCertFile)];
  const refreshTokens = new Map<string, string>();
  const stats: TokenServiceStats = { get: 0, post: 0, denied: 0 };

  const grantsOf = (username: string | undefined): readonly TokenGrant[] =>
    username === undefined ? (options.anonymousGrants ?? []) : (options.accounts.find((a) => a.username === username)?.grants ?? []);

  const checkPassword = (username: string, password: string): boolean => {
    const account = options.accounts.find((a) => a.username === username);
    return account !== undefined && safeEqual(account.password, password);
  };

  const mint = (username: string | undefined, scopes: string[]): { token: string; issuedAt: string } => {
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.flatMap((s) => {
      const scope = parseScope(s);
      if (!scope) return [];
      const allowed = new Set(
        scope.type === 'repository' ? grantsOf(username).filter((g) => globMatch(g.pattern, scope.name)).flatMap((g) => g.actions) : [],
      );
      const actions = scope.actions.includes('*') ? [...allowed] : scope.actions.filter((a) => allowed.has(a));
      return [{ type: scope.type, name: scope.name, actions }];
    });
    const header = { typ: 'JWT', alg: 'RS256', x5c };
    const claims = { iss: options.issuer, sub: username ?? '', aud: options.service, exp: now + options.expiresIn, nbf: now - 1, iat: now, jti: randomUUID(), access };
    const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const token = `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
    options.onIssue?.(token);
    return { token, issuedAt: new Date(now * 1000).toISOString() };
  };

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const deny = (res: ServerResponse): void => {
    stats.denied++;
    send(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }, { 'www-authenticate': 'Basic realm="token"' });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://token.invalid');
    if (req.method === 'GET') {
      stats.get++;
      if (url.searchParams.get('service') !== options.service) return send(res, 400, { errors: [{ code: 'INVALID_REQUEST', message: `unknown service ${url.searchParams.get('service') ?? ''}` }] });
      let username: string | undefined;
      const auth = req.headers.authorization;
      if (auth !== undefined) {
        const m = /^Basic\s+(\S+)$/i.exec(auth);
        const decoded = m?.[1] ? Buffer.from(m[1], 'base64').toString('utf8') : '';
        const colon = decoded.indexOf(':');
        if (colon < 0 || !checkPassword(decoded.slice(0, colon), decoded.slice(colon + 1))) return deny(res);
        username = decoded.slice(0, colon);
      }
      const { token, issuedAt } = mint(username, url.searchParams.getAll('scope'));
      return send(res, 200, { token, access_token: token, expires_in: options.expiresIn, issued_at: issuedAt });
    }
    if (req.method === 'POST') {
      if (!options.oauthPost) {
        res.writeHead(405, { allow: 'GET', 'content-type': 'text/plain' });
        return void res.end('405 method not allowed\n');
      }
      stats.post++;
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 64 * 1024) req.destroy();
        else chunks.push(c);
      });
      req.on('end', () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        if (form.get('service') !== options.service) return send(res, 400, { error: 'invalid_request', error_description: 'unknown service' });
        const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
        let username: string | undefined;
        if (form.get('grant_type') === 'password') {
          const u = form.get('username') ?? '';
          if (!checkPassword(u, form.get('password') ?? '')) return deny(res);
          username = u;
        } else if (form.get('grant_type') === 'refresh_token') {
          username = refreshTokens.get(form.get('refresh_token') ?? '');
          if (username === undefined) return deny(res);
        } else {
          return send(res, 400, { error: 'unsupported_grant_type' });
        }
        const { token, issuedAt } = mint(username, scopes);
        const body: Record<string, unknown> = { access_token: token, token, scope: scopes.join(' '), expires_in: options.expiresIn, issued_at: issuedAt };
        if (form.get('access_type') === 'offline') {
          const refresh = randomBytes(24).toString('base64url');
          refreshTokens.set(refresh, username);
          options.onIssue?.(refresh);
          body['refresh_token'] = refresh;
        }
        send(res, 200, body);
      });
      return;
    }
    res.writeHead(405, { allow: options.oauthPost ? 'GET, POST' : 'GET' });
    res.end();
  };
  return { handle, stats };
}

/** A token service on its own loopback port (Docker Hub's separate auth host). */
export interface RunningTokenService {
  readonly url: string;
  readonly port: number;
  readonly stats: TokenServiceStats;
  stop(): Promise<void>;
}

/** Serves {@link tokenHandler} at `path` on 127.0.0.1:`port`. */
export async function startTokenService(options: TokenServiceOptions, port: number, path: string): Promise<RunningTokenService> {
  const { handle, stats } = tokenHandler(options);
  const server: Server = createServer((req, res) => {
    if (new URL(req.url ?? '/', 'http://token.invalid').pathname === path) return handle(req, res);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  return { url: `http://127.0.0.1:${port}${path}`, port, stats, stop: () => closeServer(server) };
}

/** Closes a server, dropping keep-alive connections so it does not wait for idle clients. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

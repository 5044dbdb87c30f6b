/**
 * `verifyLogin`: checks credentials against the registry itself, the way `docker login` does
 * (ping → challenge → Basic, or a Bearer token asked for with offline access), so that
 * `imgtool login` stores only credentials that work. A token service that issues a refresh
 * token hands back an identity token to store instead of the password.
 */
import { ImgtoolError, isImgtoolError } from '../../image/errors.js';
import { normalizeRegistry, registryApiHost } from '../../image/reference.js';
import { RegistryClient, type RegistryClientOptions } from './client.js';
import type { RegistryCredentials } from './types.js';
import { explainRegistryFailure } from '../diagnose.js';

/** Options for {@link verifyLogin}: the client's options, minus the credentials. */
export type VerifyLoginOptions = Omit<RegistryClientOptions, 'credentials'>;

/** What a successful login learnt. */
export interface VerifyLoginResult {
  /** Refresh token to store as `identitytoken` instead of the password, when one was issued. */
  readonly identityToken?: string;
  /** False when the registry lets anyone in (the credentials were not needed). */
  readonly authRequired?: boolean;
}

/**
 * Verifies `creds` against `registry` (as the user names it: `docker.io`, `host:5000`,
 * `https://index.docker.io/v1/`). Resolves on success; throws REGISTRY_UNAUTHORIZED (with
 * what to check) when the registry refuses, REGISTRY_TLS / REGISTRY_UNREACHABLE / ... when it
 * cannot be asked.
 */
export async function verifyLogin(registry: string, creds: RegistryCredentials, opts: VerifyLoginOptions = {}): Promise<VerifyLoginResult> {
  const host = registryApiHost(normalizeRegistry(registry));
  const client = new RegistryClient(host, { ...opts, credentials: creds });
  try {
    const { authRequired } = await client.checkLogin(opts.signal === undefined ? {} : { signal: opts.signal });
    if (!authRequired) {
      opts.warn?.(`${host} does not require authentication; the credentials were not checked`);
      return { authRequired: false };
    }
    const identityToken = client.refreshToken;
    return { authRequired: true, ...(identityToken === undefined ? {} : { identityToken }) };
  } catch (err) {
    let out = err;
    if (isImgtoolError(err, 'REGISTRY_UNAUTHORIZED', 'REGISTRY_DENIED')) {
      const who = creds.username === undefined ? 'the stored token' : JSON.stringify(creds.username);
      out = new ImgtoolError('REGISTRY_UNAUTHORIZED', `login to ${host} as ${who} failed: ${err.message}`, {
        cause: err,
        details: { ...err.details, registry: host },
        hint: err.hint ?? 'check the username and password (or access token)',
      });
    }
    // Harbor robots and Docker Hub get specific advice (e.g. a robot name mangled by the shell).
    throw await explainRegistryFailure(out, {
      client,
      credentials: creds,
      operation: 'login',
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } finally {
    await client.close();
  }
}

/**
 * The Engine API's credential headers (protocols.md §1.2, §1.5). Both are Go's
 * `base64.URLEncoding`: the URL alphabet **with** `=` padding. Node's `base64url` drops the
 * padding, and the daemon silently ignores a header it cannot decode — a push then goes out
 * anonymous and fails with "denied" — so the encoding is done by hand here.
 */
import type { Credentials } from './types.js';

/** Go's base64.URLEncoding: standard base64 with `+`→`-`, `/`→`_`, padding kept. */
export function base64UrlPadded(data: string | Uint8Array): string {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  return buf.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The AuthConfig JSON the daemon decodes (moby api/types/registry AuthConfig field names). */
export interface EngineAuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** Converts imgtool credentials to the daemon's AuthConfig; `{}` when anonymous. */
export function toEngineAuthConfig(creds: Credentials | undefined, serverAddress?: string): EngineAuthConfig {
  if (creds === undefined) return {};
  const out: EngineAuthConfig = {};
  if (creds.username !== undefined && creds.username !== '') out.username = creds.username;
  if (creds.password !== undefined && creds.password !== '') out.password = creds.password;
  if (serverAddress !== undefined && serverAddress !== '') out.serveraddress = serverAddress;
  if (creds.identityToken !== undefined && creds.identityToken !== '') out.identitytoken = creds.identityToken;
  if (creds.registryToken !== undefined && creds.registryToken !== '') out.registrytoken = creds.registryToken;
  return out;
}

/**
 * `X-Registry-Auth` for push/pull: padded base64url of `{username,password,serveraddress}`
 * or `{identitytoken,...}`. Anonymous is the encoding of `{}` (`e30=`), which is always sent
 * because old engines reject a missing header.
 */
export function encodeRegistryAuth(creds: Credentials | undefined, serverAddress: string): string {
  return base64UrlPadded(JSON.stringify(toEngineAuthConfig(creds, serverAddress)));
}

/**
 * `X-Registry-Config` for `POST /build`: padded base64url of a JSON object mapping each
 * registry's config key (Docker Hub: `https://index.docker.io/v1/`) to its AuthConfig.
 */
export function encodeRegistryConfig(map: Readonly<Record<string, Credentials>> | ReadonlyMap<string, Credentials>): string {
  const entries = map instanceof Map ? [...map.entries()] : Object.entries(map as Record<string, Credentials>);
  const out: Record<string, EngineAuthConfig> = {};
  for (const [key, creds] of entries) out[key] = toEngineAuthConfig(creds, key);
  return base64UrlPadded(JSON.stringify(out));
}

/** Decodes a padded or unpadded base64url/base64 header back to JSON (for tests and `--debug`). */
export function decodeBase64UrlJson(header: string): unknown {
  return JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
}

/**
 * Engine request headers that carry credentials: their encoding, and their redaction for logs.
 */

/** Headers whose values are credentials; never logged. */
export const SECRET_HEADERS: ReadonlySet<string> = new Set(['x-registry-auth', 'x-registry-config', 'authorization', 'proxy-authorization']);

/** Query parameters whose values may hold secrets (build args often carry tokens). */
export const SECRET_QUERY_PARAMS: ReadonlySet<string> = new Set(['buildargs']);

/** The placeholder written instead of a secret. */
export const REDACTED = '<redacted>';

/**
 * Encodes a value for `X-Registry-Auth` / `X-Registry-Config`: JSON, then base64url **with**
 * `=` padding (Go's base64.URLEncoding). Node's 'base64url' drops the padding, which the daemon
 * silently treats as "no credentials" (protocols.md §1.5), so it is built from 'base64'.
 */
export function encodeRegistryHeader(value: Readonly<Record<string, unknown>>): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The anonymous `X-Registry-Auth` value (`{}`), which old engines require instead of no header. */
export const ANONYMOUS_REGISTRY_AUTH = encodeRegistryHeader({});

/** A copy of `headers` with credential values replaced by `<redacted>`, for debug logs. */
export function redactHeaders(headers: Readonly<Record<string, string | readonly string[] | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = SECRET_HEADERS.has(name.toLowerCase()) ? REDACTED : Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}

/** A request path with secret-bearing query values (e.g. `buildargs`) replaced by `<redacted>`. */
export function redactPath(path: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const params = new URLSearchParams(path.slice(q + 1));
  let changed = false;
  for (const name of SECRET_QUERY_PARAMS) {
    if (params.has(name)) {
      params.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? `${path.slice(0, q)}?${params.toString().replace(/%3Credacted%3E/g, REDACTED)}` : path;
}

/**
 * API versions imgtool speaks, and the negotiation rule of the moby client (client/ping.go).
 */
import { ImgtoolError } from '../image/errors.js';

/**
 * The oldest API imgtool accepts: 1.40 (Engine 19.03), the first with `outputs` for builds and
 * the moby client's own minimum today. Engine 20.10 (this project's reference daemon) is 1.41.
 */
export const MIN_API_VERSION = '1.40';

/**
 * The newest API imgtool knows: 1.47 (Engine 27.x). Every response imgtool reads is handled for
 * 1.40–1.47 (e.g. `VirtualSize` is optional, progress bars are not relied upon); newer daemons
 * serve 1.47 requests unchanged.
 */
export const MAX_API_VERSION = '1.47';

/** Compares "1.41"-style versions numerically (so 1.9 < 1.10). */
export function compareApiVersions(a: string, b: string): number {
  const [amaj = 0, amin = 0] = a.split('.').map(Number);
  const [bmaj = 0, bmin = 0] = b.split('.').map(Number);
  return amaj !== bmaj ? amaj - bmaj : amin - bmin;
}

/** True for "1.41"-shaped strings. */
export function isApiVersion(v: string): boolean {
  return /^\d+\.\d+$/.test(v);
}

/**
 * The version to use with a daemon whose newest is `daemonVersion`: min(ours, theirs); ours
 * when the daemon does not say. Throws ENGINE_VERSION_UNSUPPORTED below MIN_API_VERSION.
 */
export function negotiateApiVersion(daemonVersion: string | undefined, endpoint: string): string {
  if (daemonVersion === undefined || daemonVersion === '' || !isApiVersion(daemonVersion)) return MAX_API_VERSION;
  if (compareApiVersions(daemonVersion, MIN_API_VERSION) < 0) {
    throw new ImgtoolError(
      'ENGINE_VERSION_UNSUPPORTED',
      `the engine at ${endpoint} speaks API ${daemonVersion}, older than the oldest imgtool supports (${MIN_API_VERSION}, Docker Engine 19.03)`,
      { hint: 'upgrade the Docker Engine, or use another daemon with -H/--host or --context', details: { apiVersion: daemonVersion } },
    );
  }
  return compareApiVersions(daemonVersion, MAX_API_VERSION) < 0 ? daemonVersion : MAX_API_VERSION;
}

/**
 * `DOCKER_API_VERSION` as the moby client reads it (client/envvars.go): pins the version and
 * turns negotiation off. A leading "v" is accepted. Returns undefined when unset.
 */
export function pinnedApiVersion(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const raw = env['DOCKER_API_VERSION'];
  if (raw === undefined || raw === '') return undefined;
  const v = raw.trim().replace(/^v/, '');
  if (!isApiVersion(v)) {
    throw new ImgtoolError('ENGINE_ENDPOINT_INVALID', `DOCKER_API_VERSION="${raw}" is not an API version like 1.41`, {
      hint: 'unset DOCKER_API_VERSION to negotiate the version with the daemon, or set it to e.g. 1.41',
    });
  }
  return v;
}

/**
 * The keys config.json uses for registries. The docker CLI files Docker Hub under
 * `https://index.docker.io/v1/` and every other registry under its `host[:port]`; older
 * files may hold URLs (`https://host:5000/v2/`), which match after scheme and path are stripped.
 */
import { normalizeRegistry } from '../../image/reference.js';

/** config.json's key for Docker Hub (the docker CLI's `registry.IndexServer`). */
export const DOCKER_HUB_CONFIG_KEY = 'https://index.docker.io/v1/';

/**
 * The config.json key for a registry named in a reference or by a user: `docker.io`,
 * `index.docker.io`, `registry-1.docker.io` and the Hub URL give `https://index.docker.io/v1/`;
 * anything else its `host[:port]` without scheme or path.
 */
export function configKeyFor(registry: string): string {
  const host = normalizeRegistry(registry);
  return host === 'docker.io' ? DOCKER_HUB_CONFIG_KEY : host;
}

/** The docker CLI's ConvertToHostname: drop the scheme, keep host[:port], drop the path. */
export function convertToHostname(key: string): string {
  let s = key.trim();
  const scheme = s.indexOf('://');
  if (scheme !== -1) s = s.slice(scheme + 3);
  const slash = s.indexOf('/');
  return slash === -1 ? s : s.slice(0, slash);
}

/** True when config key `candidate` names the same registry as `key` (exact, or equal host after stripping). */
export function keysMatch(candidate: string, key: string): boolean {
  if (candidate === key) return true;
  return configKeyFor(convertToHostname(candidate)) === configKeyFor(convertToHostname(key));
}

/** The registry host a config key stands for, for messages: `docker.io` for the Hub key. */
export function displayRegistry(key: string): string {
  return normalizeRegistry(convertToHostname(key));
}

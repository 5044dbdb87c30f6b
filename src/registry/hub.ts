/**
 * Docker Hub-aware explanations: pushes into `library/` (official images only), pushes into
 * someone else's namespace, and 429 rate limits explained with the `ratelimit-limit` /
 * `ratelimit-remaining` headers (format `<count>;w=<window seconds>`).
 */
import { DOCKER_HUB_API_HOST, OFFICIAL_REPOSITORY_NAMESPACE } from '../image/reference.js';
import { ImgtoolError } from '../image/errors.js';
import type { RegistryClient } from './client/client.js';
import type { RegistryCredentials } from './client/types.js';

/** The `service` of Docker Hub's token challenges. */
export const HUB_SERVICE = 'registry.docker.io';

/** True when the client talks to Docker Hub (or a registry that authenticates like it). */
export function looksLikeDockerHub(client: RegistryClient): boolean {
  return client.registry === DOCKER_HUB_API_HOST || client.challenge?.params['service'] === HUB_SERVICE;
}

/** A parsed rate-limit header value. */
export interface RateLimit {
  readonly count: number;
  /** Window in seconds, when given (`w=`). */
  readonly windowSeconds?: number;
}

/** Parses `100;w=21600` (or just `100`). */
export function parseRateLimit(value: unknown): RateLimit | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?/.exec(value);
  if (!m) return undefined;
  return m[2] === undefined ? { count: Number(m[1]) } : { count: Number(m[1]), windowSeconds: Number(m[2]) };
}

function windowText(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  if (seconds % 3600 === 0) return ` per ${seconds / 3600} h`;
  if (seconds % 60 === 0) return ` per ${seconds / 60} min`;
  return ` per ${seconds} s`;
}

/** What failed, for {@link explainHubFailure}. */
export interface HubFailureContext {
  readonly client: RegistryClient;
  readonly repository?: string;
  readonly credentials?: RegistryCredentials;
  readonly operation: 'push' | 'pull' | 'login' | 'tag';
}

/** A clearer error for a Docker Hub failure, or undefined when there is nothing to add. */
export function explainHubFailure(err: ImgtoolError, ctx: HubFailureContext): ImgtoolError | undefined {
  if (!looksLikeDockerHub(ctx.client)) return undefined;
  const status = err.details.status;
  const username = ctx.credentials?.username;
  if (err.code === 'REGISTRY_RATE_LIMITED' || status === 429) {
    const limit = parseRateLimit(err.details['rateLimitLimit']);
    const remaining = parseRateLimit(err.details['rateLimitRemaining']);
    const retryAfter = err.details['retryAfter'];
    const numbers = limit === undefined
      ? ''
      : `: the limit is ${limit.count} pulls${windowText(limit.windowSeconds)}${remaining === undefined ? '' : `, ${remaining.count} remaining`}`;
    return new ImgtoolError('REGISTRY_RATE_LIMITED', `Docker Hub rate limit reached for ${username === undefined ? 'anonymous requests (counted per IP address)' : JSON.stringify(username)}${numbers}`, {
      cause: err,
      details: { ...err.details, hub: true },
      hint: [
        typeof retryAfter === 'string' ? `retry after ${retryAfter} s` : 'wait for the window to pass',
        username === undefined ? 'log in (`imgtool login`) for a higher limit' : 'a paid plan or a pull-through mirror raises the limit',
      ].join('; '),
    });
  }
  if (ctx.operation !== 'push' && ctx.operation !== 'tag') return undefined;
  if (status !== 401 && status !== 403 && status !== 404) return undefined;
  const repository = ctx.repository ?? '';
  const namespace = repository.split('/')[0] ?? '';
  const name = repository.split('/').slice(1).join('/');
  if (namespace === OFFICIAL_REPOSITORY_NAMESPACE) {
    return new ImgtoolError('REGISTRY_DENIED', `cannot push to ${repository} on Docker Hub: "library/" holds the official images, which only Docker publishes`, {
      cause: err,
      details: { ...err.details, hub: true },
      hint: `push to your own namespace instead, e.g. ${username ?? '<your-user>'}/${name}${username === undefined ? ' (and log in first)' : ''}`,
    });
  }
  if (username === undefined) {
    return new ImgtoolError('REGISTRY_UNAUTHORIZED', `pushing to ${repository} on Docker Hub needs a login`, {
      cause: err,
      details: { ...err.details, hub: true },
      hint: `run \`imgtool login\` (Docker Hub is the default server) and push again`,
    });
  }
  if (namespace !== username) {
    return new ImgtoolError('REGISTRY_DENIED', `${JSON.stringify(username)} may not push to ${repository} on Docker Hub: the namespace ${JSON.stringify(namespace)} is not yours`, {
      cause: err,
      details: { ...err.details, hub: true },
      hint: `push to ${username}/${name}, or ask an owner of organization ${JSON.stringify(namespace)} to give you write access`,
    });
  }
  return undefined;
}

/**
 * Harbor-aware explanations. Harbor answers a push to a project that does not exist, or by a
 * robot without push permission, with a bare 401/403 "unauthorized" (harbor#966, #20544), and
 * users go hunting for a credentials problem they do not have. When a push or login fails
 * with 401/403/404 on a Harbor, imgtool asks Harbor's own API whether the project exists
 * (`HEAD /api/v2.0/projects?project_name=<p>`) and looks at the account name (`robot$`), then
 * says what is actually wrong. Also: 412 (immutable tag) and 403 quota errors.
 */
import { ImgtoolError } from '../image/errors.js';
import type { RegistryClient } from './client/client.js';
import { readText } from './client/transport.js';
import type { RegistryCredentials } from './client/types.js';

/** The `service` Harbor's token challenges name. */
export const HARBOR_SERVICE = 'harbor-registry';

/** Harbor's default robot account prefix (configurable as `robot_name_prefix`). */
export const ROBOT_PREFIX = 'robot$';

/** True for a Harbor robot account name (`robot$project+name` or `robot$name`). */
export function isRobotAccount(username: string | undefined): boolean {
  return username !== undefined && username.startsWith(ROBOT_PREFIX);
}

/** The project a project-level robot belongs to (`robot$team+ci` → `team`), if it is one. */
export function robotProject(username: string | undefined): string | undefined {
  if (!isRobotAccount(username)) return undefined;
  const rest = (username as string).slice(ROBOT_PREFIX.length);
  const plus = rest.indexOf('+');
  return plus > 0 ? rest.slice(0, plus) : undefined;
}

/**
 * True when a username looks like a robot name whose `$…` part a shell expanded away
 * (`robot$team+ci` typed in double quotes becomes `robot+ci`).
 */
export function looksShellMangledRobot(username: string | undefined): boolean {
  return username !== undefined && /^robot(\+|$)/.test(username);
}

/** True when the registry's challenge says Harbor (service `harbor-registry` or realm `/service/token`). */
export function challengeLooksLikeHarbor(client: RegistryClient): boolean {
  const ch = client.challenge;
  if (ch === undefined) return false;
  if (ch.params['service'] === HARBOR_SERVICE) return true;
  const realm = ch.params['realm'];
  return realm !== undefined && /\/service\/token\/?$/.test(realm);
}

function basicAuth(creds: RegistryCredentials | undefined): string | undefined {
  if (creds?.username === undefined || creds.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`, 'utf8').toString('base64')}`;
}

/** Asks `/api/v2.0/systeminfo` whether the host is a Harbor (undefined when it cannot tell). */
export async function probeHarbor(client: RegistryClient, signal?: AbortSignal): Promise<boolean> {
  try {
    const res = await client.apiRequest('GET', '/api/v2.0/systeminfo', signal === undefined ? {} : { signal });
    const text = await readText(res.body, 64 * 1024);
    if (res.status !== 200) return false;
    const body = JSON.parse(text) as Record<string, unknown>;
    return typeof body['harbor_version'] === 'string' || typeof body['auth_mode'] === 'string';
  } catch {
    return false;
  }
}

/**
 * Whether `project` exists: `HEAD /api/v2.0/projects?project_name=<p>` (200 yes, 404 no),
 * falling back to GET when HEAD is not answered usefully. Undefined when Harbor will not say.
 */
export async function harborProjectExists(
  client: RegistryClient,
  project: string,
  opts: { credentials?: RegistryCredentials; signal?: AbortSignal } = {},
): Promise<boolean | undefined> {
  const authorization = basicAuth(opts.credentials);
  const path = `/api/v2.0/projects?project_name=${encodeURIComponent(project)}`;
  for (const method of ['HEAD', 'GET'] as const) {
    try {
      const res = await client.apiRequest(method, path, {
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
        ...(authorization === undefined ? {} : { authorization }),
      });
      await res.body.dump().catch(() => undefined);
      if (res.status === 200) return true;
      if (res.status === 404) return false;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** What failed, for {@link explainHarborFailure}. */
export interface HarborFailureContext {
  readonly client: RegistryClient;
  /** Repository within the registry (`team/app`); its first component is the project. */
  readonly repository?: string;
  readonly tag?: string;
  readonly credentials?: RegistryCredentials;
  readonly operation: 'push' | 'login' | 'tag';
  readonly signal?: AbortSignal;
}

function rebuild(err: ImgtoolError, code: ImgtoolError['code'], message: string, hint: string, extra: Record<string, unknown>): ImgtoolError {
  return new ImgtoolError(code, message, { cause: err, details: { ...err.details, ...extra }, hint });
}

/**
 * Returns a clearer error for a failed push/login/tag on a Harbor, or undefined when the
 * registry is not a Harbor or there is nothing better to say.
 */
export async function explainHarborFailure(err: ImgtoolError, ctx: HarborFailureContext): Promise<ImgtoolError | undefined> {
  const status = typeof err.details.status === 'number' ? err.details.status : undefined;
  if (status === undefined || ![401, 403, 404, 412].includes(status)) return undefined;
  const isHarbor = challengeLooksLikeHarbor(ctx.client) || (await probeHarbor(ctx.client, ctx.signal));
  if (!isHarbor) return undefined;
  const host = ctx.client.registry;
  const username = ctx.credentials?.username;
  const robot = isRobotAccount(username);
  const who = username === undefined ? 'anonymous access' : `${robot ? 'robot account' : 'account'} ${JSON.stringify(username)}`;
  const registryText = JSON.stringify(err.details['errors'] ?? '') + err.message;

  if (ctx.operation === 'login') {
    if (looksShellMangledRobot(username)) {
      return rebuild(err, 'REGISTRY_UNAUTHORIZED', `login to Harbor ${host} failed for ${JSON.stringify(username)}: this looks like a robot name whose "$..." part the shell expanded`,
        "quote the username with single quotes ('robot$project+name'), or pass it through an environment variable", { harbor: true });
    }
    return rebuild(err, err.code, err.message,
      robot
        ? `Harbor robot accounts are named robot$<project>+<name> (or robot$<name> for system robots) and use the robot's secret as password; check both, and that the robot is not expired or disabled`
        : (err.hint ?? 'check the username and password'),
      { harbor: true, robot });
  }

  const repository = ctx.repository;
  const project = repository?.split('/')[0];
  if (status === 412) {
    return rebuild(err, 'REGISTRY_DENIED', `Harbor ${host} refused to overwrite tag ${JSON.stringify(ctx.tag ?? '')} of ${repository ?? 'the repository'}: the tag is immutable (HTTP 412)`,
      `a tag immutability rule of project ${JSON.stringify(project ?? '')} protects it: push a new tag, or ask a project admin to change the rule`, { harbor: true, immutable: true });
  }
  if (status === 403 && /quota|exceed the configured upper limit/i.test(registryText)) {
    return rebuild(err, 'REGISTRY_DENIED', `Harbor ${host} refused the ${ctx.operation} to ${repository ?? 'the repository'}: project ${JSON.stringify(project ?? '')} is over its storage quota`,
      'delete old artifacts (and run garbage collection), or ask an admin to raise the project quota', { harbor: true, quota: true });
  }
  if (project === undefined) return undefined;
  const exists = await harborProjectExists(ctx.client, project, {
    ...(ctx.credentials === undefined ? {} : { credentials: ctx.credentials }),
    ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
  });
  if (exists === false) {
    return rebuild(err, 'REGISTRY_NOT_FOUND', `project ${JSON.stringify(project)} does not exist on ${host}: create it, or push to an existing project`,
      `Harbor answers a push to a missing project with "unauthorized"; the credentials are probably fine. Create project ${JSON.stringify(project)} in Harbor (Projects → New project), or push to <existing-project>/${repository?.split('/').slice(1).join('/') || 'name'}`,
      { harbor: true, projectExists: false, project });
  }
  if (exists === true) {
    if (robot) {
      const own = robotProject(username);
      const scopeNote = own !== undefined && own !== project
        ? ` it is a robot of project ${JSON.stringify(own)}, and project robots can only access their own project`
        : ' the robot lacks push permission on it';
      return rebuild(err, 'REGISTRY_DENIED', `${who} may not ${ctx.operation} to ${repository} on ${host}: project ${JSON.stringify(project)} exists, but${scopeNote}`,
        `give the robot the "push repository" permission on project ${JSON.stringify(project)} (Robot Accounts → edit), or use a robot that has it`,
        { harbor: true, projectExists: true, project, robot: true });
    }
    return rebuild(err, err.code, `${who} may not ${ctx.operation} to ${repository} on ${host}: project ${JSON.stringify(project)} exists, but the account is not allowed to push there`,
      username === undefined
        ? `log in first: imgtool login ${host}`
        : `add the account to project ${JSON.stringify(project)} with the Developer role or higher (or check the password)`,
      { harbor: true, projectExists: true, project, robot: false });
  }
  return undefined;
}

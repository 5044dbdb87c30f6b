/**
 * Resolving, storing and erasing registry credentials the way the docker CLI does
 * (cli/config/configfile, cli/config/credentials), so `imgtool login` and `docker login`
 * share one config.json and one set of credential helpers:
 *
 * 1. `DOCKER_AUTH_CONFIG` (`{"auths":{"<key>":{"auth":"<base64 user:pass>"}}}`) wins;
 * 2. a credential helper: `credHelpers[<key>]`, else `credsStore`;
 * 3. else config.json `auths[<key>]`, exact key first, then keys equal after stripping
 *    scheme and path (`https://host:5000/v2/` matches `host:5000`).
 *
 * `<key>` is `https://index.docker.io/v1/` for Docker Hub and `host[:port]` otherwise.
 */
import { ImgtoolError, isImgtoolError } from '../../image/errors.js';
import {
  type AuthEntry,
  type ConfigFileContent,
  type LoadedConfig,
  configPath,
  loadConfig,
  withConfigLock,
  writeConfigAtomic,
} from './config-file.js';
import { helperErase, helperGet, helperList, helperProgram, helperStore, IDENTITY_TOKEN_USERNAME, type HelperOptions } from './helper.js';
import { configKeyFor, displayRegistry, keysMatch } from './keys.js';
import type { CredentialOptions, Credentials, CredentialSource } from './types.js';

/** A resolved credential and where it came from. */
export interface ResolvedCredentials {
  readonly credentials: Credentials;
  readonly source: CredentialSource;
}

/** Where {@link storeCredentials} put the credentials. */
export interface StoreResult {
  /** config.json key used (`https://index.docker.io/v1/` or host[:port]). */
  readonly key: string;
  /** config.json path (always written: with a helper it keeps an empty `auths` entry). */
  readonly path: string;
  /** `docker-credential-<name>` when a helper holds the secret. */
  readonly helper?: string;
}

/** What {@link eraseCredentials} removed. */
export interface EraseResult {
  readonly key: string;
  /** True when there was something to remove (file entry or helper entry). */
  readonly erased: boolean;
  readonly helper?: string;
}

const ENV_AUTH_CONFIG = 'DOCKER_AUTH_CONFIG';

/** Drops empty fields; undefined when nothing is left (anonymous). */
function compact(c: Credentials): Credentials | undefined {
  const out: { -readonly [K in keyof Credentials]: Credentials[K] } = {};
  if (c.username) out.username = c.username;
  if (c.password) out.password = c.password;
  if (c.identityToken) out.identityToken = c.identityToken;
  if (c.registryToken) out.registryToken = c.registryToken;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Splits the `auth` field (base64 `user:pass`, split at the first colon) like the CLI's decodeAuth. */
function decodeAuthField(auth: string): { username: string; password: string } | undefined {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  // The CLI trims NULs some old tools padded passwords with.
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, '') };
}

function encodeAuthField(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/** Credentials of one config.json (or DOCKER_AUTH_CONFIG) entry. */
function entryCredentials(entry: AuthEntry, key: string, where: string): Credentials | undefined {
  let username = typeof entry.username === 'string' ? entry.username : undefined;
  let password = typeof entry.password === 'string' ? entry.password : undefined;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = decodeAuthField(entry.auth);
    if (decoded === undefined) {
      throw new ImgtoolError('CREDENTIALS_CONFIG_INVALID', `${where}: "auth" of "${key}" is not base64 of "username:password"`, {
        details: { file: where },
        hint: `log in again with "imgtool login ${displayRegistry(key)}", or remove the entry`,
      });
    }
    ({ username, password } = decoded);
  }
  return compact({
    ...(username === undefined ? {} : { username }),
    ...(password === undefined ? {} : { password }),
    ...(typeof entry.identitytoken === 'string' ? { identityToken: entry.identitytoken } : {}),
    ...(typeof entry.registrytoken === 'string' ? { registryToken: entry.registrytoken } : {}),
  });
}

/** Finds the entry for `key`: exact key first, then a key naming the same host. */
function findEntry(auths: Record<string, AuthEntry> | undefined, key: string): [string, AuthEntry] | undefined {
  if (!auths) return undefined;
  const exact = auths[key];
  if (exact !== undefined) return [key, exact];
  for (const [k, entry] of Object.entries(auths)) if (keysMatch(k, key)) return [k, entry];
  return undefined;
}

/** Parses DOCKER_AUTH_CONFIG; a bad value is warned about and ignored, as the docker CLI does. */
function envAuths(opts: CredentialOptions): Record<string, AuthEntry> | undefined {
  const raw = opts.env[ENV_AUTH_CONFIG];
  if (raw === undefined || raw.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    opts.warn?.(`${ENV_AUTH_CONFIG} is not valid JSON; ignoring it`);
    return undefined;
  }
  const auths = (parsed as { auths?: unknown } | null)?.auths;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) {
    opts.warn?.(`${ENV_AUTH_CONFIG} has no "auths" object; ignoring it`);
    return undefined;
  }
  const out: Record<string, AuthEntry> = {};
  for (const [key, entry] of Object.entries(auths as Record<string, unknown>)) {
    const auth = (entry as { auth?: unknown } | null)?.auth;
    if (typeof auth !== 'string' || auth === '') {
      opts.warn?.(`${ENV_AUTH_CONFIG} entry "${key}" has no "auth" field; ignoring it`);
      continue;
    }
    out[key] = { auth };
  }
  return out;
}

/** The helper configured for `key`: `credHelpers` (exact, then same host), else `credsStore`. */
function helperFor(content: ConfigFileContent, key: string): { name: string; configuredIn: string } | undefined {
  const helpers = content.credHelpers ?? {};
  const exact = helpers[key];
  if (exact) return { name: exact, configuredIn: `credHelpers["${key}"]` };
  for (const [k, name] of Object.entries(helpers)) {
    if (name && keysMatch(k, key)) return { name, configuredIn: `credHelpers["${k}"]` };
  }
  if (content.credsStore) return { name: content.credsStore, configuredIn: 'credsStore' };
  return undefined;
}

function helperOptions(opts: CredentialOptions, loaded: LoadedConfig, configuredIn: string): HelperOptions {
  return {
    env: opts.env,
    configuredIn: `${configuredIn} in ${loaded.path}`,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
}

function fromHelper(got: { Username: string; Secret: string } | undefined): Credentials | undefined {
  if (got === undefined) return undefined;
  if (got.Username === IDENTITY_TOKEN_USERNAME) return compact({ identityToken: got.Secret });
  return compact({ username: got.Username, password: got.Secret });
}

/**
 * Resolves the credentials for `registry` (a reference's registry such as `docker.io` or
 * `host:5000`, or a URL) and says where they came from. Undefined means anonymous.
 */
export async function resolveCredentialsWithSource(registry: string, opts: CredentialOptions): Promise<ResolvedCredentials | undefined> {
  const key = configKeyFor(registry);
  const fromEnv = findEntry(envAuths(opts), key);
  if (fromEnv) {
    const credentials = entryCredentials(fromEnv[1], fromEnv[0], ENV_AUTH_CONFIG);
    if (credentials) return { credentials, source: { kind: 'env', key: fromEnv[0] } };
  }
  const loaded = await loadConfig(opts);
  const helper = helperFor(loaded.content, key);
  if (helper) {
    try {
      const credentials = fromHelper(await helperGet(helper.name, key, helperOptions(opts, loaded, helper.configuredIn)));
      return credentials ? { credentials, source: { kind: 'helper', key, helper: helperProgram(helper.name) } } : undefined;
    } catch (err) {
      // An anonymous pull of a public image must not fail because a helper is broken (peers.md 7).
      if (opts.forPull && isImgtoolError(err, 'CREDENTIALS_HELPER_MISSING', 'CREDENTIALS_HELPER_FAILED')) {
        opts.warn?.(`${err.message}; continuing without credentials for ${displayRegistry(key)}`);
        return undefined;
      }
      throw err;
    }
  }
  const found = findEntry(loaded.content.auths, key);
  if (!found) return undefined;
  const credentials = entryCredentials(found[1], found[0], loaded.path);
  return credentials ? { credentials, source: { kind: 'file', key: found[0], path: loaded.path } } : undefined;
}

/**
 * The credentials for `registry`, or undefined for anonymous access. With `forPull`, a
 * missing or failing credential helper gives a warning and anonymous access instead of an error.
 */
export async function resolveCredentials(registry: string, opts: CredentialOptions): Promise<Credentials | undefined> {
  return (await resolveCredentialsWithSource(registry, opts))?.credentials;
}

/** Copies an entry without the credential fields, so unknown keys (e.g. `email`) survive. */
function entryWithoutSecrets(entry: AuthEntry | undefined): AuthEntry {
  const out: AuthEntry = { ...(entry ?? {}) };
  for (const k of ['auth', 'identitytoken', 'registrytoken', 'username', 'password', 'serveraddress']) delete out[k];
  return out;
}

/**
 * Stores credentials for `registry` where the docker CLI would: in the configured helper
 * (config.json then keeps an empty `auths` entry) or in config.json `auths`. An identity
 * token goes to a helper as username `<token>`.
 */
export async function storeCredentials(registry: string, creds: Credentials, opts: CredentialOptions): Promise<StoreResult> {
  const key = configKeyFor(registry);
  const path = configPath(opts);
  // The helper is picked from the current file; the secret goes there before the file is touched.
  const before = await loadConfig(opts);
  const helper = helperFor(before.content, key);
  if (helper) {
    const secret = creds.identityToken ?? creds.password ?? '';
    const username = creds.identityToken ? IDENTITY_TOKEN_USERNAME : (creds.username ?? '');
    await helperStore(helper.name, { ServerURL: key, Username: username, Secret: secret }, helperOptions(opts, before, helper.configuredIn));
  }
  await withConfigLock(
    path,
    async () => {
      const loaded = await loadConfig(opts);
      const content: ConfigFileContent = { ...loaded.content };
      const auths: Record<string, AuthEntry> = { ...(content.auths ?? {}) };
      const entry = entryWithoutSecrets(auths[key]);
      if (!helper) {
        if (creds.username !== undefined || creds.password !== undefined) entry.auth = encodeAuthField(creds.username ?? '', creds.password ?? '');
        if (creds.identityToken) entry.identitytoken = creds.identityToken;
        if (creds.registryToken) entry.registrytoken = creds.registryToken;
      }
      auths[key] = entry;
      content.auths = auths;
      await writeConfigAtomic(loaded.path, content, opts.signal);
    },
    opts.signal ? { signal: opts.signal } : {},
  );
  return { key, path, ...(helper ? { helper: helperProgram(helper.name) } : {}) };
}

/**
 * Removes the credentials for `registry` from config.json (every key naming that host) and
 * from its credential helper.
 */
export async function eraseCredentials(registry: string, opts: CredentialOptions): Promise<EraseResult> {
  const key = configKeyFor(registry);
  const path = configPath(opts);
  let fileHad = false;
  let helper: { name: string; configuredIn: string } | undefined;
  let loadedForHelper: LoadedConfig | undefined;
  await withConfigLock(
    path,
    async () => {
      const loaded = await loadConfig(opts);
      loadedForHelper = loaded;
      helper = helperFor(loaded.content, key);
      const auths = loaded.content.auths;
      if (!auths) return;
      const remaining: Record<string, AuthEntry> = {};
      for (const [k, entry] of Object.entries(auths)) {
        if (keysMatch(k, key)) fileHad = true;
        else remaining[k] = entry;
      }
      if (fileHad) await writeConfigAtomic(loaded.path, { ...loaded.content, auths: remaining }, opts.signal);
    },
    opts.signal ? { signal: opts.signal } : {},
  );
  let helperHad = false;
  if (helper && loadedForHelper) {
    helperHad = await helperErase(helper.name, key, helperOptions(opts, loadedForHelper, helper.configuredIn));
  }
  return { key, erased: fileHad || helperHad, ...(helper ? { helper: helperProgram(helper.name) } : {}) };
}

/**
 * Every credential the user has, keyed by config key, for `X-Registry-Config` on a build
 * (the docker CLI's GetAllCredentials): config.json entries or the `credsStore`'s list,
 * then `credHelpers` hosts, then DOCKER_AUTH_CONFIG. A helper that fails is skipped with a
 * warning: a build of public base images must not fail because of it.
 */
export async function allCredentialsForBuild(opts: CredentialOptions): Promise<Record<string, Credentials>> {
  const loaded = await loadConfig(opts);
  const out: Record<string, Credentials> = {};
  const skip = (err: unknown): void => {
    if (isImgtoolError(err, 'CREDENTIALS_HELPER_MISSING', 'CREDENTIALS_HELPER_FAILED')) opts.warn?.(`${err.message}; the build continues without those credentials`);
    else throw err;
  };
  const store = loaded.content.credsStore;
  if (store) {
    const hOpts = helperOptions(opts, loaded, 'credsStore');
    try {
      for (const server of Object.keys(await helperList(store, hOpts))) {
        try {
          const c = fromHelper(await helperGet(store, server, hOpts));
          if (c) out[server] = c;
        } catch (err) {
          skip(err);
        }
      }
    } catch (err) {
      skip(err);
    }
  } else {
    for (const [key, entry] of Object.entries(loaded.content.auths ?? {})) {
      const c = entryCredentials(entry, key, loaded.path);
      if (c) out[key] = c;
    }
  }
  for (const [host, name] of Object.entries(loaded.content.credHelpers ?? {})) {
    if (!name) continue;
    try {
      const c = fromHelper(await helperGet(name, host, helperOptions(opts, loaded, `credHelpers["${host}"]`)));
      if (c) out[host] = c;
    } catch (err) {
      skip(err);
    }
  }
  for (const [key, entry] of Object.entries(envAuths(opts) ?? {})) {
    const c = entryCredentials(entry, key, ENV_AUTH_CONFIG);
    if (c) out[key] = c;
  }
  return out;
}

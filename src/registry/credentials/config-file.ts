/**
 * Reading and writing the docker CLI's config.json without losing anything in it.
 *
 * The file is kept as a plain JSON object so every key imgtool does not know (psFormat,
 * proxies, plugins, currentContext, ...) survives a write. Writes are atomic (temp file in
 * the same directory, then rename) so a killed process leaves the old or the new file, never
 * half of one; a lock file around read-modify-write keeps concurrent imgtool logins from
 * overwriting each other's entries. A file that does not parse is reported, never replaced.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, readFile, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { homedir as osHomedir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { abortError, ImgtoolError } from '../../image/errors.js';
import type { CredentialOptions } from './types.js';

/** One `auths` entry as stored on disk (plus any keys imgtool does not know). */
export interface AuthEntry {
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
  /** Legacy plain fields some old files and tools write. */
  username?: string;
  password?: string;
  [key: string]: unknown;
}

/** config.json as a JSON object; only the fields imgtool reads are typed. */
export interface ConfigFileContent {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** A loaded config.json: its path and content (`{}` when the file does not exist). */
export interface LoadedConfig {
  readonly path: string;
  readonly exists: boolean;
  readonly content: ConfigFileContent;
}

/** The directory holding config.json: `$DOCKER_CONFIG`, else `~/.docker`. */
export function configDir(opts: Pick<CredentialOptions, 'env' | 'homedir'>): string {
  const fromEnv = opts.env['DOCKER_CONFIG'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const home = opts.homedir ?? opts.env['HOME'] ?? osHomedir();
  return join(home, '.docker');
}

/** Path of config.json for these options. */
export function configPath(opts: Pick<CredentialOptions, 'env' | 'homedir'>): string {
  return join(configDir(opts), 'config.json');
}

function configInvalid(path: string, why: string, cause?: unknown): ImgtoolError {
  return new ImgtoolError('CREDENTIALS_CONFIG_INVALID', `${path} is not a valid docker config file: ${why}`, {
    details: { file: path },
    hint: `fix or remove ${path} (imgtool does not overwrite a file it cannot read)`,
    ...(cause === undefined ? {} : { cause }),
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the parts imgtool relies on have the shapes the docker CLI gives them. */
function validate(path: string, parsed: unknown): ConfigFileContent {
  if (!isPlainObject(parsed)) throw configInvalid(path, 'the top level is not a JSON object');
  const { auths, credsStore, credHelpers } = parsed;
  if (auths !== undefined && auths !== null) {
    if (!isPlainObject(auths)) throw configInvalid(path, '"auths" is not an object');
    for (const [key, entry] of Object.entries(auths)) {
      if (!isPlainObject(entry)) throw configInvalid(path, `"auths" entry "${key}" is not an object`);
      for (const field of ['auth', 'identitytoken', 'registrytoken', 'username', 'password'] as const) {
        if (entry[field] !== undefined && typeof entry[field] !== 'string') {
          throw configInvalid(path, `"auths" entry "${key}" has a non-string "${field}"`);
        }
      }
    }
  }
  if (credsStore !== undefined && typeof credsStore !== 'string') throw configInvalid(path, '"credsStore" is not a string');
  if (credHelpers !== undefined && credHelpers !== null) {
    if (!isPlainObject(credHelpers)) throw configInvalid(path, '"credHelpers" is not an object');
    for (const [key, helper] of Object.entries(credHelpers)) {
      if (typeof helper !== 'string') throw configInvalid(path, `"credHelpers" entry "${key}" is not a string`);
    }
  }
  return parsed as ConfigFileContent;
}

/** Parses config.json text; whitespace-only is an empty config, as for the docker CLI. */
export function parseConfig(path: string, text: string): ConfigFileContent {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    // V8's message quotes the text around the fault, which may be an `auth` value: keep only
    // the position, and no cause that would carry the quote to --debug.
    const position = /position (\d+)/.exec(err instanceof Error ? err.message : '')?.[1];
    throw configInvalid(path, `it is not JSON${position === undefined ? '' : ` (error at character ${position})`}`);
  }
  return validate(path, parsed);
}

/** Reads config.json; a missing file is an empty config. */
export async function loadConfig(opts: Pick<CredentialOptions, 'env' | 'homedir' | 'signal'>): Promise<LoadedConfig> {
  const path = configPath(opts);
  let text: string;
  try {
    text = await readFile(path, { encoding: 'utf8', ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, exists: false, content: {} };
    if ((err as Error).name === 'AbortError') throw abortError(opts.signal, `reading ${path}`);
    throw new ImgtoolError('IO', `cannot read ${path}: ${(err as Error).message}`, { cause: err, details: { file: path } });
  }
  return { path, exists: true, content: parseConfig(path, text) };
}

/** Serialises like the docker CLI (tab-indented). */
export function serializeConfig(content: ConfigFileContent): string {
  return `${JSON.stringify(content, null, '\t')}\n`;
}

/** The file a write really replaces: config.json itself, or the target of a symlink to it. */
async function writeTarget(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return path;
    throw err;
  }
}

/**
 * Replaces `path` atomically: temp file (mode 0600, or the old file's mode) in the same
 * directory, fsync, rename over the target. Symlinks are followed so a linked config.json
 * (dotfile managers) stays a link.
 */
export async function writeConfigAtomic(path: string, content: ConfigFileContent, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw abortError(signal, `writing ${path}`);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const target = await writeTarget(path);
  let mode = 0o600;
  try {
    mode = (await stat(target)).mode & 0o777;
  } catch {
    // new file: 0600, credentials are in it
  }
  const tmp = join(dirname(target), `.${randomBytes(6).toString('hex')}.config.json.tmp`);
  const handle = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
  try {
    await handle.writeFile(serializeConfig(content), 'utf8');
    await handle.chmod(mode);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw new ImgtoolError('IO', `cannot write ${target}: ${(err as Error).message}`, { cause: err, details: { file: target } });
  }
  await handle.close();
  try {
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new ImgtoolError('IO', `cannot replace ${target}: ${(err as Error).message}`, { cause: err, details: { file: target } });
  }
}

/** Options for {@link withConfigLock}. */
export interface ConfigLockOptions {
  readonly signal?: AbortSignal;
  /** A lock file older than this is left over by a killed process and is taken over. Default 10 s. */
  readonly staleMs?: number;
  /** Give up waiting after this long. Default 60 s. */
  readonly timeoutMs?: number;
}

/**
 * Runs `fn` holding `<config.json>.lock` (created with O_EXCL). Another imgtool process
 * doing a read-modify-write waits, so ten concurrent logins keep ten entries. A lock whose
 * mtime is older than `staleMs` belongs to a process that died mid-write and is removed.
 */
export async function withConfigLock<T>(path: string, fn: () => Promise<T>, options: ConfigLockOptions = {}): Promise<T> {
  const staleMs = options.staleMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Lock next to the real file, so two paths to one file (symlinks) share one lock.
  const lockPath = `${await writeTarget(path)}.lock`;
  const started = Date.now();
  let delay = 5;
  for (;;) {
    if (options.signal?.aborted) throw abortError(options.signal, `waiting for ${lockPath}`);
    try {
      const handle = await open(lockPath, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600);
      await handle.writeFile(`imgtool ${new Date().toISOString()}\n`);
      await handle.close();
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        throw new ImgtoolError('IO', `cannot create lock file ${lockPath}: ${(err as Error).message}`, { cause: err, details: { file: lockPath } });
      }
    }
    await removeIfStale(lockPath, staleMs);
    if (Date.now() - started > timeoutMs) {
      throw new ImgtoolError('IO', `${path} is locked by another process (lock file ${lockPath})`, {
        details: { file: lockPath },
        hint: `if no imgtool is running, remove ${lockPath}`,
      });
    }
    // Jitter keeps a crowd of waiters from retrying in lock-step.
    await sleep(delay + Math.floor(Math.random() * delay), undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/**
 * Removes a stale lock. It is first renamed to a unique name so that of two processes that
 * both see it stale only one removes it, and a fresh lock taken meanwhile is never deleted.
 */
async function removeIfStale(lockPath: string, staleMs: number): Promise<void> {
  let mtime: number;
  try {
    mtime = (await stat(lockPath)).mtimeMs;
  } catch {
    return;
  }
  if (Date.now() - mtime <= staleMs) return;
  const aside = `${lockPath}.stale-${randomBytes(4).toString('hex')}`;
  try {
    await rename(lockPath, aside);
  } catch {
    return;
  }
  try {
    // Another process may have replaced the stale lock with a fresh one between stat and rename.
    // Put it back with link(), which fails rather than replace a lock taken in the meantime.
    if (Date.now() - (await stat(aside)).mtimeMs <= staleMs) {
      await link(aside, lockPath).catch(() => undefined);
      await rm(aside, { force: true });
      return;
    }
  } catch {
    return;
  }
  await rm(aside, { force: true });
}

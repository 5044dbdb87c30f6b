/**
 * Client for docker-credential-helpers programs (`docker-credential-<name>`): one process per
 * call, the action as the only argument, input on stdin, output on stdout. Helpers report
 * errors on **stdout** with exit code 1, so the message shown to the user is stdout (plus
 * stderr when there is any) — swallowing it is a known pain (go-containerregistry#528).
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join } from 'node:path';
import { abortError, ImgtoolError } from '../../image/errors.js';

/** Output a helper prints when it has nothing for a server: anonymous access, not an error. */
export const CREDENTIALS_NOT_FOUND_MESSAGE = 'credentials not found in native keychain';
/** Username a helper stores for an identity token (the docker CLI's tokenUsername). */
export const IDENTITY_TOKEN_USERNAME = '<token>';

/** What a helper returns for `get` and takes for `store`. */
export interface HelperCredentials {
  readonly ServerURL: string;
  readonly Username: string;
  readonly Secret: string;
}

/** Options for helper calls. */
export interface HelperOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
  /** A helper waiting for a GUI prompt would hang a pipeline forever; default 60 s. */
  readonly timeoutMs?: number;
  /** Where the helper was configured, for messages (e.g. `credsStore in /home/u/.docker/config.json`). */
  readonly configuredIn?: string;
  /** Strings to blank out of helper output before it reaches a message (the secret being stored). */
  readonly redact?: readonly string[];
}

/** The program name for helper `name`. */
export function helperProgram(name: string): string {
  return `docker-credential-${name}`;
}

/** Finds `program` on the PATH of `env` (not the parent's), or undefined. */
export async function findOnPath(program: string, env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
  if (isAbsolute(program)) return (await isExecutableFile(program)) ? program : undefined;
  const path = env['PATH'] ?? '';
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    await access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function redact(text: string, secrets: readonly string[] | undefined): string {
  let out = text;
  for (const s of secrets ?? []) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

interface HelperRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const MAX_OUTPUT = 1 << 20;

/** Runs `docker-credential-<name> <action>` with `input` on stdin. */
async function runHelper(name: string, action: string, input: string, opts: HelperOptions): Promise<HelperRun> {
  const program = helperProgram(name);
  const where = opts.configuredIn ? ` (configured as ${opts.configuredIn})` : '';
  if (opts.signal?.aborted) throw abortError(opts.signal, `${program} ${action}`);
  const file = await findOnPath(program, opts.env);
  if (file === undefined) {
    throw new ImgtoolError('CREDENTIALS_HELPER_MISSING', `credential helper ${program}${where} was not found on PATH`, {
      details: { helper: program },
      hint: `install ${program}, or remove it from config.json ("credsStore"/"credHelpers") to use config.json itself`,
    });
  }
  const timeout = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  return await new Promise<HelperRun>((resolve, reject) => {
    const child = spawn(file, [action], {
      env: { ...opts.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outLen < MAX_OUTPUT) out.push(b);
      outLen += b.length;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < MAX_OUTPUT) err.push(b);
      errLen += b.length;
    });
    // A helper that exits without reading stdin makes our write fail with EPIPE; its exit status tells the story.
    child.stdin.on('error', () => undefined);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.name === 'AbortError') {
        if (opts.signal?.aborted) reject(abortError(opts.signal, `${program} ${action}`));
        else reject(new ImgtoolError('CREDENTIALS_HELPER_FAILED', `credential helper ${program}${where} did not answer "${action}" within ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s`, { details: { helper: program }, hint: 'it may be waiting for a password prompt or a locked keychain; unlock it or configure another credential store' }));
        return;
      }
      reject(new ImgtoolError('CREDENTIALS_HELPER_FAILED', `cannot run credential helper ${file}${where}: ${e.message}`, { cause: e, details: { helper: program } }));
    });
    child.on('close', (code, sig) => {
      resolve({ code, signal: sig, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(input);
  });
}

function failure(name: string, action: string, run: HelperRun, opts: HelperOptions, server?: string): ImgtoolError {
  const program = helperProgram(name);
  const where = opts.configuredIn ? ` (configured as ${opts.configuredIn})` : '';
  const output = redact([run.stdout.trim(), run.stderr.trim()].filter((s) => s !== '').join(' / '), opts.redact);
  const status = run.signal ? `killed by ${run.signal}` : `exit code ${String(run.code)}`;
  const target = server === undefined ? '' : ` for ${server}`;
  return new ImgtoolError(
    'CREDENTIALS_HELPER_FAILED',
    `credential helper ${program}${where} failed to ${action} credentials${target}: ${output === '' ? '(no output)' : output} (${status})`,
    { details: { helper: program, output }, hint: `run "echo ${server ?? '<server>'} | ${program} ${action === 'list' ? 'list' : action}" to see the helper's own error` },
  );
}

function isNotFound(run: HelperRun): boolean {
  return run.stdout.trim() === CREDENTIALS_NOT_FOUND_MESSAGE || run.stderr.trim() === CREDENTIALS_NOT_FOUND_MESSAGE;
}

/** `get`: the credentials the helper has for `serverURL`, or undefined when it has none. */
export async function helperGet(name: string, serverURL: string, opts: HelperOptions): Promise<HelperCredentials | undefined> {
  const run = await runHelper(name, 'get', serverURL, opts);
  if (run.code !== 0) {
    if (isNotFound(run)) return undefined;
    throw failure(name, 'get', run, opts, serverURL);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(run.stdout);
  } catch {
    // Never echo the output, not even through the parse error as a cause: it may be the secret.
    throw new ImgtoolError('CREDENTIALS_HELPER_FAILED', `credential helper ${helperProgram(name)} answered "get" for ${serverURL} with something that is not JSON`, { details: { helper: helperProgram(name) } });
  }
  const o = parsed as Partial<Record<keyof HelperCredentials, unknown>>;
  const username = typeof o.Username === 'string' ? o.Username : '';
  const secret = typeof o.Secret === 'string' ? o.Secret : '';
  if (username === '' && secret === '') return undefined;
  return { ServerURL: typeof o.ServerURL === 'string' ? o.ServerURL : serverURL, Username: username, Secret: secret };
}

/** `store`: saves credentials in the helper. */
export async function helperStore(name: string, creds: HelperCredentials, opts: HelperOptions): Promise<void> {
  const withRedact: HelperOptions = { ...opts, redact: [...(opts.redact ?? []), creds.Secret] };
  const run = await runHelper(name, 'store', JSON.stringify(creds), withRedact);
  if (run.code !== 0) throw failure(name, 'store', run, withRedact, creds.ServerURL);
}

/** `erase`: removes the helper's credentials for `serverURL`; false when it had none. */
export async function helperErase(name: string, serverURL: string, opts: HelperOptions): Promise<boolean> {
  const run = await runHelper(name, 'erase', serverURL, opts);
  if (run.code === 0) return true;
  if (isNotFound(run)) return false;
  throw failure(name, 'erase', run, opts, serverURL);
}

/** `list`: server URL → username for everything the helper holds. */
export async function helperList(name: string, opts: HelperOptions): Promise<Record<string, string>> {
  const run = await runHelper(name, 'list', '', opts);
  if (run.code !== 0) throw failure(name, 'list', run, opts);
  try {
    const parsed: unknown = JSON.parse(run.stdout.trim() === '' ? '{}' : run.stdout);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TypeError('not an object');
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  } catch {
    // The parse error would quote the output, which may hold server names and users: not echoed.
    throw new ImgtoolError('CREDENTIALS_HELPER_FAILED', `credential helper ${helperProgram(name)} answered "list" with something that is not a JSON object`, { details: { helper: helperProgram(name) } });
  }
}

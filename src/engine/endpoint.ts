/**
 * Chooses the Engine endpoint exactly as the docker CLI does (docker/cli cli/command/cli.go,
 * opts/hosts.go, cli/flags/options.go, cli/context/docker/load.go), so `imgtool` talks to the
 * daemon `docker` would talk to with the same flags, environment and config.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImgtoolError } from '../image/errors.js';
import type { EndpointOptions, EndpointSource, EndpointTls, EngineEndpoint } from './endpoint-types.js';

export type { EndpointOptions, EndpointSource, EndpointSsh, EndpointTls, EngineEndpoint } from './endpoint-types.js';

/** The default daemon address on Linux. */
export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
/** Port the CLI fills in when a tcp:// address has none (IANA "docker"). */
export const DEFAULT_TCP_PORT = 2375;
/**
 * Port for TLS (IANA "docker-s"): only used for the address the CLI picks when TLS is on and no
 * address is given at all. A tcp:// address without a port gets 2375 even with TLS, as docker
 * CLI 28 does (`docker -H tcp://h --tls` dials h:2375).
 */
export const DEFAULT_TLS_TCP_PORT = 2376;
/** The name of the built-in context (flags and environment, no store entry). */
export const DEFAULT_CONTEXT_NAME = 'default';

const HINT = 'point imgtool at a daemon with -H/--host, DOCKER_HOST or --context (see `docker context ls`)';

type Env = Readonly<Record<string, string | undefined>>;

/** An environment variable as Go's os.Getenv sees it: empty means unset. */
function envValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** `$DOCKER_CONFIG`, else `~/.docker` (HOME from `env`, as the CLI reads it). */
export function dockerConfigDir(env: Env): string {
  return envValue(env, 'DOCKER_CONFIG') ?? join(envValue(env, 'HOME') ?? homedir(), '.docker');
}

/** The contexts store directory id of a context: sha256 hex of its name. */
export function contextDirName(name: string): string {
  return createHash('sha256').update(name).digest('hex');
}

/** Human text for how the endpoint was chosen. */
function describe(source: EndpointSource, context: string, configFile: string): string {
  switch (source) {
    case 'host-flag':
      return '-H/--host';
    case 'context-flag':
      return `context "${context}" (--context)`;
    case 'DOCKER_HOST':
      return 'DOCKER_HOST';
    case 'DOCKER_CONTEXT':
      return `context "${context}" (DOCKER_CONTEXT)`;
    case 'config-current-context':
      return `context "${context}" (currentContext in ${configFile})`;
    case 'default':
      return 'default';
  }
}

function invalid(message: string, hint: string = HINT, cause?: unknown): ImgtoolError {
  return new ImgtoolError('ENGINE_ENDPOINT_INVALID', message, { hint, ...(cause === undefined ? {} : { cause }) });
}

/** A parsed address, before TLS is attached. */
interface ParsedHost {
  readonly host: string;
  readonly scheme: 'unix' | 'tcp' | 'ssh';
  readonly socketPath?: string;
  readonly tcp?: { readonly hostname: string; readonly port: number; readonly basePath: string };
  readonly ssh?: { readonly user?: string; readonly host: string; readonly port?: string; readonly socketPath?: string };
}

/**
 * Parses a daemon address as opts.ParseHost does: `unix://path`, `tcp://[host][:port][/path]`
 * (a bare `host:port` means tcp), `ssh://[user@]host[:port][/socket]`. `what` names the
 * value and its source for error messages.
 */
export function parseDockerHost(value: string, defaultPort: number, what: string): ParsedHost {
  const raw = value.trim();
  const sep = raw.indexOf('://');
  const proto = sep < 0 ? 'tcp' : raw.slice(0, sep).toLowerCase();
  const rest = sep < 0 ? raw : raw.slice(sep + 3);
  switch (proto) {
    case 'unix': {
      const path = rest === '' ? '/var/run/docker.sock' : rest;
      if (!path.startsWith('/')) throw invalid(`${what}: unix socket path must be absolute in "${value}"`);
      return { host: `unix://${path}`, scheme: 'unix', socketPath: path };
    }
    case 'tcp':
    case 'http':
    case 'https':
      return parseTcp(rest, value, defaultPort, what);
    case 'ssh':
      return parseSsh(raw, value, what);
    case 'npipe':
      throw invalid(`${what}: "${value}" is a Windows named pipe, which imgtool does not support`);
    case 'fd':
      throw invalid(`${what}: "${value}" (fd://) only works for the daemon's own systemd sockets, not for clients`);
    default:
      throw invalid(`${what}: "${value}" is not a valid daemon address (use unix://, tcp:// or ssh://)`);
  }
}

function parseTcp(rest: string, value: string, defaultPort: number, what: string): ParsedHost {
  let url: URL;
  try {
    // Go accepts an empty host ("tcp://:2376" means localhost); WHATWG URLs do not.
    url = new URL(`tcp://${rest.startsWith(':') ? `localhost${rest}` : rest}`);
  } catch (err) {
    throw invalid(`${what}: "${value}" is not a valid tcp address`, HINT, err);
  }
  if (url.username || url.password || url.search || url.hash) {
    throw invalid(`${what}: "${value}" is not a valid tcp address (no user, query or fragment allowed)`);
  }
  // url.hostname keeps IPv6 brackets, which is what a URL origin needs.
  const hostname = url.hostname === '' ? 'localhost' : url.hostname;
  const port = url.port === '' ? defaultPort : Number(url.port);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw invalid(`${what}: bad port in "${value}"`);
  const basePath = url.pathname === '/' ? '' : url.pathname.replace(/\/+$/, '');
  return { host: `tcp://${hostname}:${port}${basePath}`, scheme: 'tcp', tcp: { hostname, port, basePath } };
}

function parseSsh(raw: string, value: string, what: string): ParsedHost {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw invalid(`${what}: "${value}" is not a valid ssh address`, HINT, err);
  }
  // As the CLI (cli/connhelper/ssh): no password in the URL, no query or fragment, a host is required.
  if (url.password) throw invalid(`${what}: plain-text passwords are not supported in ssh addresses; use an ssh key or agent`);
  if (url.search || url.hash) throw invalid(`${what}: "${value}" must not have a query or fragment`);
  if (url.hostname === '') throw invalid(`${what}: "${value}" has no host`);
  const user = url.username === '' ? undefined : decodeURIComponent(url.username);
  const port = url.port === '' ? undefined : url.port;
  const socketPath = url.pathname === '' || url.pathname === '/' ? undefined : decodeURIComponent(url.pathname);
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const host = `ssh://${user === undefined ? '' : `${user}@`}${url.host}${socketPath ?? ''}`;
  return {
    host,
    scheme: 'ssh',
    ssh: {
      host: hostname,
      ...(user === undefined ? {} : { user }),
      ...(port === undefined ? {} : { port }),
      ...(socketPath === undefined ? {} : { socketPath }),
    },
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * TLS from flags and environment for the default context (cli/flags/options.go): TLS is on with
 * --tls/--tlsverify or DOCKER_TLS/DOCKER_TLS_VERIFY; files default to DOCKER_CERT_PATH (else the
 * config dir) /ca.pem, cert.pem, key.pem; a default cert/key that does not exist is dropped.
 */
async function tlsFromFlags(options: EndpointOptions, configDir: string): Promise<EndpointTls | undefined> {
  const { env } = options;
  const verify = options.tlsverify === true || envValue(env, 'DOCKER_TLS_VERIFY') !== undefined;
  const on = verify || options.tls === true || envValue(env, 'DOCKER_TLS') !== undefined;
  if (!on) return undefined;
  const certDir = envValue(env, 'DOCKER_CERT_PATH') ?? configDir;
  const caFile = options.tlscacert ?? join(certDir, 'ca.pem');
  let certFile: string | undefined = options.tlscert ?? join(certDir, 'cert.pem');
  let keyFile: string | undefined = options.tlskey ?? join(certDir, 'key.pem');
  if (options.tlscert === undefined && !(await exists(certFile))) certFile = undefined;
  if (options.tlskey === undefined && !(await exists(keyFile))) keyFile = undefined;
  // The CLI loads the CA even without verification and fails when it is missing; so do we.
  return {
    verify,
    caFile,
    ...(certFile === undefined ? {} : { certFile }),
    ...(keyFile === undefined ? {} : { keyFile }),
  };
}

/** Reads `currentContext` from config.json; an unreadable file is ignored with a warning, as the CLI does. */
async function currentContextFromConfig(configFile: string, warnings: string[]): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(configFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(`could not read ${configFile}: ${(err as Error).message}`);
    return undefined;
  }
  try {
    const cfg = JSON.parse(text) as unknown;
    if (cfg !== null && typeof cfg === 'object' && typeof (cfg as { currentContext?: unknown }).currentContext === 'string') {
      const name = (cfg as { currentContext: string }).currentContext;
      return name === '' ? undefined : name;
    }
    return undefined;
  } catch (err) {
    warnings.push(`ignoring ${configFile}: ${(err as Error).message}`);
    return undefined;
  }
}

/** The docker endpoint of a stored context. */
interface StoredEndpoint {
  readonly host: string;
  readonly skipTLSVerify: boolean;
  readonly tlsDir: string;
}

/** Reads `contexts/meta/<sha256(name)>/meta.json` and its docker endpoint. */
async function readContext(configDir: string, name: string, how: string): Promise<StoredEndpoint> {
  const id = contextDirName(name);
  const metaFile = join(configDir, 'contexts', 'meta', id, 'meta.json');
  let text: string;
  try {
    text = await readFile(metaFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw invalid(
      code === 'ENOENT' ? `context "${name}" (from ${how}) does not exist: ${metaFile} not found` : `context "${name}" (from ${how}) cannot be read: ${(err as Error).message}`,
      'list contexts with `docker context ls`, or choose the endpoint with -H/--host or DOCKER_HOST',
      err,
    );
  }
  let meta: unknown;
  try {
    meta = JSON.parse(text);
  } catch (err) {
    throw invalid(`context "${name}" (from ${how}): ${metaFile} is not valid JSON`, 'recreate the context with `docker context create`', err);
  }
  const docker = (meta as { Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } } | null)?.Endpoints?.docker;
  if (docker === undefined || docker === null || typeof docker.Host !== 'string' || docker.Host === '') {
    throw invalid(`context "${name}" (from ${how}) has no docker endpoint in ${metaFile}`, 'recreate the context with `docker context create --docker host=...`');
  }
  return { host: docker.Host, skipTLSVerify: docker.SkipTLSVerify === true, tlsDir: join(configDir, 'contexts', 'tls', id, 'docker') };
}

/**
 * TLS of a stored context (context/docker/load.go): on when the store has TLS files for it or
 * SkipTLSVerify is set; verified unless SkipTLSVerify.
 */
async function tlsFromContext(ep: StoredEndpoint): Promise<EndpointTls | undefined> {
  const caFile = join(ep.tlsDir, 'ca.pem');
  const certFile = join(ep.tlsDir, 'cert.pem');
  const keyFile = join(ep.tlsDir, 'key.pem');
  const [ca, cert, key] = await Promise.all([exists(caFile), exists(certFile), exists(keyFile)]);
  if (!ca && !cert && !key && !ep.skipTLSVerify) return undefined;
  return {
    verify: !ep.skipTLSVerify,
    ...(ca ? { caFile } : {}),
    ...(cert && key ? { certFile, keyFile } : {}),
  };
}

/** Attaches TLS to a parsed address; TLS only means something for tcp. */
function finish(parsed: ParsedHost, source: EndpointSource, context: string, configFile: string, tls: EndpointTls | undefined, warnings: string[]): EngineEndpoint {
  return {
    ...parsed,
    source,
    how: describe(source, context, configFile),
    context,
    ...(parsed.scheme === 'tcp' && tls !== undefined ? { tls } : {}),
    warnings,
  };
}

/**
 * Resolves the endpoint. Precedence (first match wins): `--context`, `-H`, `DOCKER_HOST`,
 * `DOCKER_CONTEXT`, `currentContext` in `$DOCKER_CONFIG/config.json`, then the default
 * `unix:///var/run/docker.sock`. The "default" context means flags and environment.
 * Invalid values throw ImgtoolError('ENGINE_ENDPOINT_INVALID') naming the value and its source.
 */
export async function resolveEndpoint(options: EndpointOptions): Promise<EngineEndpoint> {
  const { env } = options;
  const configDir = dockerConfigDir(env);
  const configFile = join(configDir, 'config.json');
  const warnings: string[] = [];
  const flagHost = options.host !== undefined && options.host.trim() !== '' ? options.host : undefined;
  if (options.context !== undefined && options.context !== '' && flagHost !== undefined) {
    throw invalid('conflicting options: cannot specify both --host and --context', 'drop one of -H/--host and --context');
  }

  // Which context is in effect, and why (cli/command/cli.go resolveContextName).
  let contextName: string;
  let source: EndpointSource;
  if (options.context !== undefined && options.context !== '') {
    contextName = options.context;
    source = 'context-flag';
  } else if (flagHost !== undefined) {
    contextName = DEFAULT_CONTEXT_NAME;
    source = 'host-flag';
  } else if (envValue(env, 'DOCKER_HOST') !== undefined) {
    contextName = DEFAULT_CONTEXT_NAME;
    source = 'DOCKER_HOST';
  } else if (envValue(env, 'DOCKER_CONTEXT') !== undefined) {
    contextName = envValue(env, 'DOCKER_CONTEXT') as string;
    source = 'DOCKER_CONTEXT';
  } else {
    const current = await currentContextFromConfig(configFile, warnings);
    if (current !== undefined) {
      contextName = current;
      source = 'config-current-context';
    } else {
      contextName = DEFAULT_CONTEXT_NAME;
      source = 'default';
    }
  }
  options.signal?.throwIfAborted();

  if (contextName === DEFAULT_CONTEXT_NAME) {
    // The default context: -H, else DOCKER_HOST, else the default socket; TLS from flags/env.
    const tls = await tlsFromFlags(options, configDir);
    const envHost = envValue(env, 'DOCKER_HOST');
    const value = flagHost ?? envHost;
    const effectiveSource: EndpointSource =
      flagHost !== undefined ? 'host-flag' : envHost !== undefined ? 'DOCKER_HOST' : source === 'default' ? 'default' : source;
    const what = flagHost !== undefined ? `-H/--host` : envHost !== undefined ? 'DOCKER_HOST' : describe(source, contextName, configFile);
    // With TLS and no address at all, the CLI defaults to tcp://localhost:2376.
    const parsed =
      value !== undefined
        ? parseDockerHost(value, DEFAULT_TCP_PORT, what)
        : tls !== undefined
          ? parseDockerHost(`tcp://localhost:${DEFAULT_TLS_TCP_PORT}`, DEFAULT_TCP_PORT, what)
          : parseDockerHost(DEFAULT_DOCKER_HOST, DEFAULT_TCP_PORT, what);
    return finish(parsed, effectiveSource, contextName, configFile, tls, warnings);
  }

  const how = describe(source, contextName, configFile);
  const stored = await readContext(configDir, contextName, how);
  const tls = await tlsFromContext(stored);
  const parsed = parseDockerHost(stored.host, DEFAULT_TCP_PORT, `${how}: Host`);
  return finish(parsed, source, contextName, configFile, tls, warnings);
}

/** The command line the CLI runs for an ssh:// endpoint (cli/connhelper): argv after `ssh`. */
export function sshArgs(ssh: { readonly user?: string; readonly host: string; readonly port?: string; readonly socketPath?: string }): string[] {
  const args: string[] = [];
  if (ssh.user !== undefined) args.push('-l', ssh.user);
  if (ssh.port !== undefined) args.push('-p', ssh.port);
  args.push('-o', 'ConnectTimeout=30', '-T', '--', ssh.host, 'docker');
  if (ssh.socketPath !== undefined) args.push('--host', `unix://${ssh.socketPath}`);
  args.push('system', 'dial-stdio');
  return args;
}

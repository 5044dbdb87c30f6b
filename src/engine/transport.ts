/**
 * Turns a resolved endpoint into an undici dispatcher: a unix socket, TCP with or without
 * TLS, or HTTP spoken over the stdio of `ssh ... docker system dial-stdio`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Duplex } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { ImgtoolError } from '../image/errors.js';
import { sshArgs } from './endpoint.js';
import type { EndpointSsh, EndpointTls, EngineEndpoint } from './endpoint-types.js';

/** Host header the moby client sends over unix sockets and ssh, where there is no host name. */
export const PLACEHOLDER_HOST = 'api.moby.localhost';

/** A dispatcher for one endpoint, plus the path prefix every request gets. */
export interface Transport {
  readonly dispatcher: Dispatcher;
  /** Origin requests are made against (its host is the Host header). */
  readonly origin: string;
  /** `/base` from tcp://host:port/base, or "". */
  readonly basePath: string;
}

/** Options for {@link createTransport}. */
export interface TransportOptions {
  /** Environment for the ssh child (PATH, SSH_AUTH_SOCK, HOME...). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Connect timeout in ms. */
  readonly connectTimeoutMs: number;
  readonly signal?: AbortSignal;
}

/** Reads one TLS file; a missing or unreadable file is a configuration error naming the source. */
async function readTlsFile(path: string, what: string, endpoint: EngineEndpoint, signal: AbortSignal | undefined): Promise<Buffer> {
  try {
    return await readFile(path, signal === undefined ? {} : { signal });
  } catch (err) {
    throw new ImgtoolError('ENGINE_ENDPOINT_INVALID', `cannot read the TLS ${what} ${path} for ${endpoint.host} (chosen by ${endpoint.how}): ${(err as Error).message}`, {
      cause: err,
      hint: 'fix --tlscacert/--tlscert/--tlskey or DOCKER_CERT_PATH (which must hold ca.pem, cert.pem, key.pem), or the context\'s TLS files',
      details: { file: path },
    });
  }
}

/** Node TLS options from the endpoint's TLS settings (minimum TLS 1.2, as the CLI). */
async function tlsOptions(tls: EndpointTls, endpoint: EngineEndpoint, signal: AbortSignal | undefined): Promise<Record<string, unknown>> {
  const [ca, cert, key] = await Promise.all([
    tls.caFile === undefined ? undefined : readTlsFile(tls.caFile, 'CA certificate', endpoint, signal),
    tls.certFile === undefined ? undefined : readTlsFile(tls.certFile, 'client certificate', endpoint, signal),
    tls.keyFile === undefined ? undefined : readTlsFile(tls.keyFile, 'client key', endpoint, signal),
  ]);
  if ((cert === undefined) !== (key === undefined)) {
    throw new ImgtoolError('ENGINE_ENDPOINT_INVALID', `TLS for ${endpoint.host} (chosen by ${endpoint.how}) has a client ${cert === undefined ? 'key' : 'certificate'} but no ${cert === undefined ? 'certificate' : 'key'}`, {
      hint: 'give both --tlscert and --tlskey (or both cert.pem and key.pem in DOCKER_CERT_PATH)',
    });
  }
  return {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: tls.verify,
    // Without verification the CA is irrelevant; with it, the CA replaces the system roots.
    ...(tls.verify && ca !== undefined ? { ca } : {}),
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
  };
}

/** Creates the dispatcher for `endpoint`. TLS files are read here, so errors surface at connect time. */
export async function createTransport(endpoint: EngineEndpoint, options: TransportOptions): Promise<Transport> {
  const timeout = options.connectTimeoutMs;
  switch (endpoint.scheme) {
    case 'unix': {
      const origin = `http://${PLACEHOLDER_HOST}`;
      return { origin, basePath: '', dispatcher: new Pool(origin, { connect: { socketPath: endpoint.socketPath as string, timeout } }) };
    }
    case 'tcp': {
      const tcp = endpoint.tcp as NonNullable<EngineEndpoint['tcp']>;
      const origin = `${endpoint.tls ? 'https' : 'http'}://${tcp.hostname}:${tcp.port}`;
      const connect = endpoint.tls ? { ...(await tlsOptions(endpoint.tls, endpoint, options.signal)), timeout } : { timeout };
      return { origin, basePath: tcp.basePath, dispatcher: new Pool(origin, { connect }) };
    }
    case 'ssh': {
      const origin = `http://${PLACEHOLDER_HOST}`;
      const ssh = endpoint.ssh as EndpointSsh;
      const connect = (_opts: unknown, callback: (err: Error | null, socket: Duplex | null) => void): void => {
        dialSsh(ssh, options.env).then(
          (socket) => callback(null, socket),
          (err: Error) => callback(err, null),
        );
      };
      return { origin, basePath: '', dispatcher: new Pool(origin, { connect: connect as never }) };
    }
  }
}

/** Keeps the last bytes of ssh's stderr, to explain why a connection failed. */
const STDERR_TAIL = 4096;

/**
 * A Duplex over a child's stdin (writes) and stdout (reads): what undici sees as a socket.
 * Destroying it kills the child, so an aborted request ends the remote `dial-stdio`.
 */
export class ChildProcessSocket extends Duplex {
  private stderrTail = '';
  /** First pipe error; reported once the child has exited, with its stderr. */
  private ioError: Error | undefined;

  constructor(private readonly child: ChildProcess) {
    super({ allowHalfOpen: false });
    const stdout = child.stdout as NonNullable<ChildProcess['stdout']>;
    const stdin = child.stdin as NonNullable<ChildProcess['stdin']>;
    stdout.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) stdout.pause();
    });
    stdout.on('error', (err) => (this.ioError ??= err));
    stdin.on('error', (err) => (this.ioError ??= err));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    // 'close' comes after the exit and after stdout/stderr are drained, so the end of the
    // stream is decided here with everything ssh said: a failed ssh (auth, host key, no docker
    // there) becomes an error carrying its stderr, rather than a bare "other side closed".
    child.on('close', (code, sig) => {
      if (this.destroyed) return;
      if (code !== 0) this.destroy(this.failure(`ssh exited with ${code === null ? `signal ${String(sig)}` : `status ${code}`}`));
      else if (this.ioError !== undefined) this.destroy(this.failure(this.ioError.message));
      else this.push(null);
    });
  }

  private failure(what: string): Error {
    const stderr = this.stderrTail.trim();
    return Object.assign(new Error(`${what}${stderr ? `: ${stderr}` : ''}`), { code: 'ESSHDIAL' });
  }

  override _read(): void {
    this.child.stdout?.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    // A write error (EPIPE: ssh is gone) is reported by the 'close' handler, with ssh's stderr.
    (this.child.stdin as NonNullable<ChildProcess['stdin']>).write(chunk, (err) => {
      if (err) this.ioError ??= err;
      callback();
    });
  }

  override _final(callback: (err?: Error | null) => void): void {
    (this.child.stdin as NonNullable<ChildProcess['stdin']>).end(() => callback());
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.child.stdin?.destroy();
    this.child.stdout?.destroy();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    callback(err);
  }

  /** Lets Node exit while the pool keeps an idle ssh connection (undici unrefs idle sockets). */
  unref(): this {
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as { unref?: () => void } | null)?.unref?.();
    return this;
  }

  /** Undoes {@link unref} while a request is in flight. */
  ref(): this {
    this.child.ref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as { ref?: () => void } | null)?.ref?.();
    return this;
  }
}

/** Spawns `ssh ... docker system dial-stdio` and resolves once the process started. */
export function dialSsh(ssh: EndpointSsh, env: Readonly<Record<string, string | undefined>>): Promise<ChildProcessSocket> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', sshArgs(ssh), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...env } as NodeJS.ProcessEnv });
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'ENOENT' ? Object.assign(new Error('the ssh program was not found on PATH'), { code: 'ESSHDIAL' }) : err);
    });
    child.once('spawn', () => resolve(new ChildProcessSocket(child)));
  });
}

/**
 * A fault-injecting HTTP proxy for reliability tests (issue 7). It sits in front of a real
 * registry (TCP) or the real daemon socket (unix) and, per request, draws from a seeded PRNG
 * whether to inject a fault: 500/503, 429 with Retry-After, the connection cut mid-body
 * (upload or download), a slow response, or 413 for bodies over a limit. What it injects is a
 * fake failure on purpose (no real server fails on demand); everything it forwards is real.
 *
 * Run it in the test process and drive the docker CLI with `dockerCliAsync` (a synchronous
 * child process call would block the proxy's event loop).
 */
import { createServer, request, Agent, type IncomingMessage, type Server, type ServerResponse, type RequestOptions } from 'node:http';
import { connect, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The kinds of fault the proxy injects at random. */
export type FaultKind = 'status500' | 'status503' | 'status429' | 'cutUpload' | 'cutDownload' | 'slow';

/** All random fault kinds, in a fixed order (the PRNG draws depend on it). */
export const FAULT_KINDS: readonly FaultKind[] = ['status500', 'status503', 'status429', 'cutUpload', 'cutDownload', 'slow'];

/** What to inject; `setFaults({})` turns everything off. */
export interface FaultConfig {
  /** Probability (0..1) that an eligible request gets a random fault. */
  readonly rate?: number;
  /** Relative weights of the kinds (default: all kinds equally; 0 disables one). */
  readonly kinds?: Partial<Record<FaultKind, number>>;
  /** Seed of the PRNG; setting faults restarts the sequence (default 1). */
  readonly seed?: number;
  /** Seconds in the Retry-After header of a 429 (default 1). */
  readonly retryAfterSeconds?: number;
  /** Delay of a slow response, before forwarding and again before the response (default 300 ms). */
  readonly slowMs?: number;
  /** Answer 413 to any request whose body is larger than this many bytes (not random: every time). */
  readonly maxBodyBytes?: number;
  /** Stop injecting random faults after this many (default: no limit); e.g. "one 503, then fine". */
  readonly maxFaults?: number;
  /** Which requests are eligible for random faults (default: all). 413 applies to all. */
  readonly only?: (method: string, path: string) => boolean;
}

/** What the proxy did so far. */
export interface FaultCounters {
  /** Requests received (including upgrades). */
  requests: number;
  /** Requests that reached the target (cut uploads count: they started). */
  forwarded: number;
  status413: number;
  status500: number;
  status503: number;
  status429: number;
  cutUpload: number;
  cutDownload: number;
  slow: number;
}

/** One line of the proxy's log: which request got which fault. */
export interface FaultEvent {
  readonly n: number;
  readonly method: string;
  readonly path: string;
  readonly fault: FaultKind | 'status413' | 'none';
}

/** Where the proxy forwards to: a TCP `host:port` or a unix socket path. */
export type FaultTarget = { readonly host: string } | { readonly socketPath: string };

/** Options of {@link startFaultProxy}. */
export interface FaultProxyOptions {
  readonly target: FaultTarget;
  /** Listen on this unix socket instead of 127.0.0.1:<free port> (e.g. to stand in for the daemon socket). */
  readonly listenSocket?: string;
  /** Faults from the start (default none). */
  readonly faults?: FaultConfig;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `127.0.0.1:<port>` for TCP listeners (use it in image references), or the socket path. */
  readonly host: string;
  /** `http://127.0.0.1:<port>` or `unix://<socket>` (a DOCKER_HOST for the socket form). */
  readonly url: string;
  readonly counters: Readonly<FaultCounters>;
  /** Total random faults injected (all kinds, 413 included). */
  injected(): number;
  /** Recent events (last 1000). */
  readonly events: readonly FaultEvent[];
  /** Replaces the fault configuration and restarts the PRNG. */
  setFaults(config: FaultConfig): void;
  resetCounters(): void;
  close(): Promise<void>;
}

/** mulberry32: a tiny, good-enough seeded PRNG so a failing fault sequence can be replayed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const zeroCounters = (): FaultCounters => ({ requests: 0, forwarded: 0, status413: 0, status500: 0, status503: 0, status429: 0, cutUpload: 0, cutDownload: 0, slow: 0 });

/** Bytes a request declares it will send: a number, `undefined` for chunked/unknown, 0 for none. */
function declaredLength(req: IncomingMessage): number | undefined {
  const cl = req.headers['content-length'];
  if (cl !== undefined) return Number(cl);
  return req.headers['transfer-encoding'] ? undefined : 0;
}

/** Starts a proxy in front of `options.target`. */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const engine = 'socketPath' in options.target;
  const targetOpts: RequestOptions =
    'socketPath' in options.target
      ? { socketPath: options.target.socketPath }
      : { hostname: options.target.host.split(':')[0], port: Number(options.target.host.split(':')[1]) };
  const agent = new Agent({ keepAlive: true });
  let config: FaultConfig = options.faults ?? {};
  let random = seededRandom(config.seed ?? 1);
  let counters = zeroCounters();
  /** Random faults injected since the last setFaults (for maxFaults). */
  let randomFaults = 0;
  const events: FaultEvent[] = [];
  const sockets = new Set<Socket>();

  const note = (req: IncomingMessage, fault: FaultEvent['fault']): void => {
    events.push({ n: counters.requests, method: req.method ?? '', path: req.url ?? '', fault });
    if (events.length > 1000) events.shift();
  };

  const errorBody = (status: number, message: string): string =>
    engine ? JSON.stringify({ message }) : JSON.stringify({ errors: [{ code: status === 429 ? 'TOOMANYREQUESTS' : 'UNKNOWN', message, detail: null }] });

  const reply = (req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void => {
    const body = errorBody(status, message);
    // The request body is not read: close the connection so a half-sent upload does not poison keep-alive.
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'close', ...headers });
    res.end(body, () => req.socket.destroySoon());
    req.resume();
  };

  const pick = (req: IncomingMessage, hasBody: boolean): FaultKind | undefined => {
    const rate = config.rate ?? 0;
    if (rate <= 0 || (config.only && !config.only(req.method ?? '', req.url ?? ''))) return undefined;
    if (config.maxFaults !== undefined && randomFaults >= config.maxFaults) return undefined;
    // Draw twice for every eligible request so the sequence depends only on the request order.
    const roll = random();
    const which = random();
    if (roll >= rate) return undefined;
    const weights = FAULT_KINDS.map((k) => (k === 'cutUpload' && !hasBody ? 0 : (config.kinds ? (config.kinds[k] ?? 0) : 1)));
    const total = weights.reduce((a, b) => a + b, 0);
    if (total <= 0) return undefined;
    let x = which * total;
    for (let i = 0; i < FAULT_KINDS.length; i++) {
      x -= weights[i] ?? 0;
      if (x < 0) return FAULT_KINDS[i];
    }
    return undefined;
  };

  const forward = async (req: IncomingMessage, res: ServerResponse, fault: FaultKind | undefined, length: number | undefined): Promise<void> => {
    const slowMs = config.slowMs ?? 300;
    const maxBody = config.maxBodyBytes;
    if (fault === 'slow') await sleep(slowMs);
    counters.forwarded++;
    const upstream = request({ ...targetOpts, agent, method: req.method, path: req.url, headers: req.headers });
    // Where to cut an upload: a random point inside a known body, or into the first chunk.
    const cutAt = fault === 'cutUpload' ? (length !== undefined && length > 1 ? 1 + Math.floor(random() * (length - 1)) : 1) : Infinity;
    let sent = 0;
    let dead = false;
    const kill = (): void => {
      dead = true;
      upstream.destroy();
      req.socket.destroy();
    };
    upstream.on('error', () => {
      if (dead) return;
      if (!res.headersSent) reply(req, res, 502, 'fault proxy: target unreachable');
      else res.destroy();
    });
    upstream.on('response', (up) => {
      void (async () => {
        if (fault === 'slow') await sleep(slowMs);
        if (dead) return up.resume();
        if (fault === 'cutDownload') {
          const size = Number(up.headers['content-length'] ?? NaN);
          if (!(size > 0) || req.method === 'HEAD') {
            // Nothing to cut mid-body: drop the connection instead of answering.
            up.resume();
            return kill();
          }
          res.writeHead(up.statusCode ?? 502, up.statusMessage, up.rawHeaders);
          let budget = Math.max(0, Math.floor(random() * size) - 1);
          up.on('data', (chunk: Buffer) => {
            if (dead) return;
            if (chunk.length >= budget) {
              res.write(chunk.subarray(0, budget), () => kill());
              budget = 0;
              dead = true;
            } else {
              budget -= chunk.length;
              res.write(chunk);
            }
          });
          up.on('end', () => dead || kill());
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.statusMessage, up.rawHeaders);
        // Long polls (the daemon's /wait) send headers long before a body: pass them on now.
        res.flushHeaders();
        up.pipe(res);
        up.on('error', () => res.destroy());
      })();
    });
    req.on('data', (chunk: Buffer) => {
      if (dead) return;
      sent += chunk.length;
      if (maxBody !== undefined && sent > maxBody) {
        // A streamed body over the limit: the 413 comes once the limit is crossed, as nginx does.
        dead = true;
        upstream.destroy();
        counters.status413++;
        note(req, 'status413');
        if (!res.headersSent) reply(req, res, 413, `fault proxy: request body larger than ${maxBody} bytes`);
        return;
      }
      if (sent >= cutAt) {
        upstream.write(chunk.subarray(0, chunk.length - (sent - cutAt)), () => kill());
        dead = true;
        return;
      }
      if (!upstream.write(chunk)) {
        req.pause();
        upstream.once('drain', () => req.resume());
      }
    });
    req.on('end', () => dead || upstream.end());
    req.on('error', () => upstream.destroy());
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    counters.requests++;
    const length = declaredLength(req);
    if (config.maxBodyBytes !== undefined && length !== undefined && length > config.maxBodyBytes) {
      counters.status413++;
      note(req, 'status413');
      return reply(req, res, 413, `fault proxy: request body larger than ${config.maxBodyBytes} bytes`);
    }
    const fault = pick(req, length === undefined || length > 0);
    note(req, fault ?? 'none');
    if (fault) {
      counters[fault]++;
      randomFaults++;
    }
    switch (fault) {
      case 'status500':
        return reply(req, res, 500, 'fault proxy: injected 500');
      case 'status503':
        return reply(req, res, 503, 'fault proxy: injected 503');
      case 'status429':
        return reply(req, res, 429, 'fault proxy: injected 429', { 'retry-after': String(config.retryAfterSeconds ?? 1) });
      default:
        void forward(req, res, fault, length);
    }
  };

  const server: Server = createServer(handle);
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // Upgrades (docker attach/exec hijack, BuildKit session) pass through untouched.
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    counters.requests++;
    counters.forwarded++;
    note(req, 'none');
    const up: Socket = 'socketPath' in options.target ? connect(options.target.socketPath) : connect(Number(targetOpts.port), String(targetOpts.hostname));
    up.on('connect', () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });

  if (options.listenSocket) rmSync(options.listenSocket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (options.listenSocket) server.listen(options.listenSocket, resolve);
    else server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  const host = typeof addr === 'string' ? addr : `127.0.0.1:${addr?.port ?? 0}`;
  const url = options.listenSocket ? `unix://${options.listenSocket}` : `http://${host}`;

  return {
    host,
    url,
    get counters() {
      return counters;
    },
    get events() {
      return events;
    },
    injected: () => counters.status413 + FAULT_KINDS.reduce((a, k) => a + counters[k], 0),
    setFaults(next) {
      config = next;
      random = seededRandom(next.seed ?? 1);
      randomFaults = 0;
    },
    resetCounters() {
      counters = zeroCounters();
      events.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        agent.destroy();
        server.close(() => resolve());
        if (options.listenSocket) rmSync(options.listenSocket, { force: true });
      }),
  };
}

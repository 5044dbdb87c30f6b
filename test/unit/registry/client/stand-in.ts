/**
 * A scriptable node:http server on 127.0.0.1, port 0, for registry behaviour the real
 * distribution registry will not produce on demand (405 token POSTs, 429 with Retry-After,
 * cross-host redirects, Warning headers, 413 from a proxy, 416...). Every test that uses it
 * says so: it is a stand-in, not the registry.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One request as the stand-in saw it (body included, for small bodies). */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Buffer;
}

/** A running stand-in. */
export interface StandIn {
  /** host:port */
  readonly host: string;
  readonly url: string;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

/** Handler: gets the request with its body already read. */
export type StandInHandler = (req: SeenRequest, res: ServerResponse) => void | Promise<void>;

/** Starts a stand-in server answering with `handler`. */
export async function startStandIn(handler: StandInHandler): Promise<StandIn> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      seen.push(r);
      Promise.resolve(handler(r, res)).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Writes a JSON answer. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

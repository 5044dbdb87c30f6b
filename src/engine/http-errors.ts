/**
 * Maps what can go wrong talking to the Engine to ImgtoolErrors: connection failures (with the
 * endpoint, how it was chosen and how to choose another), timeouts, and non-2xx answers
 * carrying the daemon's `{"message": ...}`.
 */
import { ImgtoolError, type ImgtoolErrorCode } from '../image/errors.js';
import type { EngineEndpoint } from './endpoint-types.js';

/** What a request was doing, for messages. */
export interface RequestContext {
  readonly endpoint: EngineEndpoint;
  /** e.g. "image inspect", "build". */
  readonly what: string;
  /** Image or registry the request is about. */
  readonly reference?: string;
}

const CHOOSE_HINT = 'point imgtool at a running daemon with -H/--host, DOCKER_HOST or --context';

/** Error codes of TLS handshake/verification failures (Node and OpenSSL). */
function isTlsError(code: string, message: string): boolean {
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.startsWith('CERT_') ||
    code.startsWith('UNABLE_TO_') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'HOSTNAME_MISMATCH' ||
    code === 'EPROTO' ||
    /certificate|ssl|tls/i.test(message)
  );
}

function errCode(err: unknown): string {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : '';
}

/** Where we connected, for messages: "unix:///var/run/docker.sock (chosen by DOCKER_HOST)". */
export function endpointLabel(endpoint: EngineEndpoint): string {
  return `${endpoint.host} (chosen by ${endpoint.how})`;
}

/**
 * The ImgtoolError for a request that failed without an HTTP answer (or whose body broke).
 * `timedOut` says the request's own timeout fired.
 */
export function transportError(err: unknown, ctx: RequestContext, timedOut: boolean): ImgtoolError {
  if (err instanceof ImgtoolError) return err;
  const where = endpointLabel(ctx.endpoint);
  const details = { endpoint: ctx.endpoint.host, how: ctx.endpoint.how, ...(ctx.reference === undefined ? {} : { reference: ctx.reference }) };
  const code = errCode(err);
  const message = err instanceof Error ? err.message : String(err);
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new ImgtoolError('ENGINE_TIMEOUT', `${ctx.what}: the engine at ${where} did not answer in time`, {
      cause: err,
      details,
      hint: 'the daemon may be overloaded or hung; check `docker info` against the same endpoint, then retry',
    });
  }
  const unreachable = (why: string, hint: string = `is the Docker daemon running there? ${CHOOSE_HINT}`): ImgtoolError =>
    new ImgtoolError('ENGINE_UNREACHABLE', `cannot connect to the Docker Engine at ${where}: ${why}`, { cause: err, details, hint });
  switch (code) {
    case 'ENOENT':
      return unreachable(ctx.endpoint.socketPath === undefined ? 'not found' : `socket ${ctx.endpoint.socketPath} does not exist`);
    case 'ECONNREFUSED':
      return unreachable('connection refused');
    case 'EACCES':
    case 'EPERM':
      return unreachable('permission denied', `run as a user allowed to use the socket (e.g. in the docker group), or ${CHOOSE_HINT}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return unreachable(`host name ${ctx.endpoint.tcp?.hostname ?? ''} could not be resolved`);
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return unreachable('connection timed out');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return unreachable('host unreachable');
    case 'ESSHDIAL':
      return unreachable(`ssh failed: ${message}`, 'check `ssh` to that host works without a password prompt (keys or agent) and that docker is installed there');
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return unreachable(`the connection was closed (${message})`, `the daemon may have stopped or does not speak HTTP on this address${ctx.endpoint.tls ? '' : ' (a TLS-only daemon needs --tlsverify)'}; ${CHOOSE_HINT}`);
    default:
      break;
  }
  if (isTlsError(code, message)) {
    return unreachable(`TLS failed: ${message}`, 'check --tlscacert/--tlscert/--tlskey (or DOCKER_CERT_PATH) match the daemon\'s certificates, and that the address matches the certificate');
  }
  return unreachable(message);
}

/** Extracts the daemon's message from an error body (`{"message":...}`, else the text). */
export function daemonMessage(text: string): string {
  const trimmed = text.trim();
  try {
    const parsed = JSON.parse(trimmed) as { message?: unknown };
    if (parsed !== null && typeof parsed === 'object' && typeof parsed.message === 'string') return parsed.message.trim();
  } catch {
    /* not JSON: use the text */
  }
  return trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed;
}

/** The ImgtoolError for a non-2xx answer. */
export function statusError(status: number, body: string, ctx: RequestContext): ImgtoolError {
  const msg = daemonMessage(body) || `HTTP ${status}`;
  const details = { status, daemonMessage: msg, endpoint: ctx.endpoint.host, ...(ctx.reference === undefined ? {} : { reference: ctx.reference }) };
  let code: ImgtoolErrorCode = 'ENGINE_API';
  let hint: string | undefined;
  if (status === 404) {
    code = 'ENGINE_NOT_FOUND';
  } else if (status === 400 && /client version .* too (new|old)|minimum supported API version|maximum supported API version/i.test(msg)) {
    code = 'ENGINE_VERSION_UNSUPPORTED';
    hint = 'unset DOCKER_API_VERSION so imgtool negotiates a version the daemon supports';
  } else if (status === 400 && /HTTP request to an HTTPS server/i.test(msg)) {
    hint = 'the daemon requires TLS: add --tlsverify with --tlscacert/--tlscert/--tlskey, or set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH';
  } else if (status === 401) {
    code = 'REGISTRY_UNAUTHORIZED';
    hint = 'check the registry credentials (imgtool login, or the credential helper in config.json)';
  }
  return new ImgtoolError(code, `${ctx.what} failed: ${msg}`, { details, ...(hint === undefined ? {} : { hint }) });
}

/**
 * Turns an error line from an engine push/pull stream into an error that says what to do.
 * The registry's own message is kept verbatim; the hint is chosen from its well-known texts.
 */
import { ImgtoolError } from '../../image/errors.js';
import { registryApiHost, type Reference } from '../../image/reference.js';
import { RegistryClient } from '../client/client.js';
import type { Credentials, CredentialSource } from '../credentials/types.js';
import { explainRegistryFailure } from '../diagnose.js';

/** Hint for a registry message, or undefined when nothing useful can be added. */
export function hintFor(op: 'push' | 'pull', ref: Reference, message: string, source: CredentialSource | undefined): string | undefined {
  const login = `imgtool login ${ref.registry === 'docker.io' ? '' : ref.registry}`.trimEnd();
  if (/toomanyrequests|too many requests|rate limit/i.test(message)) {
    return ref.isDockerHub
      ? 'Docker Hub rate limit reached: log in (authenticated pulls have a higher limit) or wait until the limit resets'
      : 'the registry is rate limiting: wait and retry';
  }
  if (/request entity too large|\b413\b/i.test(message)) {
    return 'a proxy in front of the registry refuses large uploads (client_max_body_size in nginx): raise the limit, or use "imgtool push --direct --chunk-size 50MB"';
  }
  if (/server gave HTTP response to HTTPS client/i.test(message)) {
    return `the registry speaks plain HTTP: add "${ref.registry}" to "insecure-registries" in the daemon's daemon.json`;
  }
  if (/x509|certificate/i.test(message)) {
    return `the daemon does not trust ${ref.registry}'s certificate: put its CA in /etc/docker/certs.d/${ref.registry}/ca.crt on the daemon host`;
  }
  if (/unauthorized|authentication required|no basic auth credentials|incorrect username or password/i.test(message)) {
    return source
      ? `the registry rejected the credentials from ${sourceText(source)}: run "${login}" again, and check the account may ${op} ${ref.repository}`
      : `no credentials for ${ref.registry} were found: run "${login}" first`;
  }
  if (/denied|forbidden/i.test(message)) {
    if (op === 'push' && ref.isDockerHub && ref.repository.startsWith('library/')) {
      return `docker.io/library/ is reserved for Docker's official images: push to <your Docker Hub user or organisation>/${ref.repository.slice('library/'.length)}`;
    }
    return source
      ? `the account from ${sourceText(source)} may not ${op} ${ref.repository}: check its permissions, and that the repository or project exists`
      : `no credentials for ${ref.registry} were found: run "${login}" first`;
  }
  if (op === 'pull' && /manifest unknown|not found|does not exist/i.test(message)) {
    return `check the name and tag of ${ref.familiar}; private repositories also answer "not found" to anonymous users`;
  }
  if (op === 'pull' && /no matching manifest/i.test(message)) {
    return 'the image has no variant for this platform: choose another with --platform';
  }
  return undefined;
}

function sourceText(source: CredentialSource): string {
  switch (source.kind) {
    case 'env':
      return 'DOCKER_AUTH_CONFIG';
    case 'file':
      return source.path;
    case 'helper':
      return source.helper;
  }
}

/** PUSH_FAILED / PULL_FAILED wrapping an in-stream engine error. */
export function explainStreamFailure(op: 'push' | 'pull', ref: Reference, err: ImgtoolError, source: CredentialSource | undefined): ImgtoolError {
  // A broken stream (daemon killed, connection cut) keeps its own hint when no better one applies.
  const hint = hintFor(op, ref, err.message, source) ?? err.hint;
  return new ImgtoolError(op === 'push' ? 'PUSH_FAILED' : 'PULL_FAILED', `${op} of ${ref.familiar} failed: ${err.message}`, {
    cause: err,
    details: { reference: ref.toString(), ...err.details },
    ...(hint === undefined ? {} : { hint }),
  });
}

/**
 * The HTTP status an engine error line stands for. The engine flattens the registry's answer
 * into text ("unauthorized: authentication required", "denied: ...", "toomanyrequests: ..."),
 * so the status is recovered from the registry error codes it quotes.
 */
export function statusOfStreamMessage(message: string): number | undefined {
  if (/toomanyrequests/i.test(message)) return 429;
  if (/\b412\b|precondition failed|immutable/i.test(message)) return 412;
  if (/quota/i.test(message)) return 403;
  if (/unauthorized|authentication required|no basic auth credentials/i.test(message)) return 401;
  if (/denied|forbidden/i.test(message)) return 403;
  if (/name unknown|repository name not known/i.test(message)) return 404;
  return undefined;
}

/** Options for {@link explainEnginePushFailure}. */
export interface ExplainEngineFailureOptions {
  readonly credentials?: Credentials;
  readonly source?: CredentialSource;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/**
 * Like {@link explainStreamFailure} for a push, then asks the registry itself what is wrong
 * when the engine's message hides it (Harbor: missing project, robot without push permission,
 * immutable tag, quota; Docker Hub: rate limits). Never throws; returns the best error.
 */
export async function explainEnginePushFailure(ref: Reference, err: ImgtoolError, opts: ExplainEngineFailureOptions): Promise<ImgtoolError> {
  const basic = explainStreamFailure('push', ref, err, opts.source);
  const status = statusOfStreamMessage(err.message);
  if (status === undefined) return basic;
  const withStatus = new ImgtoolError(basic.code, basic.message, {
    cause: err,
    details: { ...basic.details, status },
    ...(basic.hint === undefined ? {} : { hint: basic.hint }),
  });
  const client = new RegistryClient(registryApiHost(ref.registry), {
    ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    ...(opts.log === undefined ? {} : { log: opts.log }),
    // Advice is best effort: one quick attempt, no retry storm after a failed push.
    retry: { attempts: 1 },
  });
  try {
    const better = await explainRegistryFailure(withStatus, {
      client,
      repository: ref.repository,
      ...(ref.tag === undefined ? {} : { tag: ref.tag }),
      ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
      operation: 'push',
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
    if (better instanceof ImgtoolError && better !== withStatus) {
      // Keep the registry's own words next to the diagnosis.
      return new ImgtoolError(better.code, `${better.message} (the engine reported: ${err.message})`, {
        cause: err,
        details: { reference: ref.toString(), ...better.details },
        ...(better.hint === undefined ? {} : { hint: better.hint }),
      });
    }
    return basic;
  } catch {
    return basic;
  } finally {
    await client.close().catch(() => undefined);
  }
}

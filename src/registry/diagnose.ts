/**
 * One entry point for registry-specific advice on a failure: Harbor first (it asks the
 * registry's API), then Docker Hub. Callers (login, push, remote tag) pass the error and what
 * they were doing; they get back a clearer error, or the original one.
 */
import { isImgtoolError } from '../image/errors.js';
import type { RegistryClient } from './client/client.js';
import type { RegistryCredentials } from './client/types.js';
import { explainHarborFailure } from './harbor.js';
import { explainHubFailure } from './hub.js';

/** What failed. */
export interface FailureContext {
  readonly client: RegistryClient;
  readonly repository?: string;
  readonly tag?: string;
  readonly credentials?: RegistryCredentials;
  readonly operation: 'push' | 'login' | 'tag';
  readonly signal?: AbortSignal;
}

/** Returns `err` made clearer for Harbor / Docker Hub when possible; never throws. */
export async function explainRegistryFailure(err: unknown, ctx: FailureContext): Promise<unknown> {
  if (!isImgtoolError(err)) return err;
  try {
    const harbor = await explainHarborFailure(err, ctx);
    if (harbor !== undefined) return harbor;
    const hub = explainHubFailure(err, ctx);
    if (hub !== undefined) return hub;
  } catch {
    // Advice is best effort: the original error is still true.
  }
  return err;
}

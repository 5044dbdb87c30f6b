/**
 * `imgtool push` through the engine: `POST /images/{name}/push` with an `X-Registry-Auth`
 * built from the user's docker credentials (the engine never reads config.json itself —
 * dockerode#415), the stream read to its end (the push is finished only then), and the
 * digest taken from the final `<tag>: digest: sha256:... size: N` status line or the
 * `aux {Tag,Digest,Size}` message.
 */
import type { EngineClient } from '../../engine/client.js';
import type { JsonMessage } from '../../engine/types.js';
import { ImgtoolError, isImgtoolError } from '../../image/errors.js';
import type { Reference } from '../../image/reference.js';
import { configKeyFor } from '../credentials/keys.js';
import { encodeRegistryAuth } from '../credentials/encode.js';
import { resolveCredentialsWithSource } from '../credentials/store.js';
import type { CredentialOptions, CredentialSource } from '../credentials/types.js';
import { explainEnginePushFailure } from './explain.js';
import { LayerProgress, type LayerProgressEvent } from './progress.js';

/** One tag the engine reported as pushed. */
export interface PushedTag {
  readonly tag: string;
  readonly digest: string;
  readonly size: number;
}

/** Result of {@link pushThroughEngine}. */
export interface EnginePushResult {
  /** The reference pushed (untagged for `allTags`). */
  readonly reference: string;
  /** Every tag pushed, in the order the engine reported them. */
  readonly pushed: readonly PushedTag[];
  /** Digest of the pushed manifest (the last tag's, for `allTags`). */
  readonly digest: string;
  /** Where the credentials came from, or undefined for an anonymous push. */
  readonly credentialSource?: CredentialSource;
}

/** Options for {@link pushThroughEngine}. */
export interface EnginePushOptions extends CredentialOptions {
  /** Push every local tag of the repository (the reference must then carry no tag). */
  readonly allTags?: boolean;
  /** Receives each layer's progress as the stream goes. */
  readonly onProgress?: (event: LayerProgressEvent, progress: LayerProgress) => void;
  /** Debug lines (never secrets). */
  readonly log?: (line: string) => void;
}

const DIGEST_LINE = /^(.+): digest: (sha256:[0-9a-f]{64}) size: (\d+)$/;

/** Reads a pushed tag from a status line or an aux message; undefined for other messages. */
export function pushedTagOf(msg: JsonMessage): PushedTag | undefined {
  if (typeof msg.status === 'string') {
    const m = DIGEST_LINE.exec(msg.status.trim());
    if (m && m[1] !== undefined && m[2] !== undefined && m[3] !== undefined) return { tag: m[1], digest: m[2], size: Number(m[3]) };
  }
  const aux = msg.aux as { Tag?: unknown; Digest?: unknown; Size?: unknown } | undefined;
  if (aux && typeof aux === 'object' && typeof aux.Tag === 'string' && typeof aux.Digest === 'string') {
    return { tag: aux.Tag, digest: aux.Digest, size: typeof aux.Size === 'number' ? aux.Size : 0 };
  }
  return undefined;
}

/**
 * Pushes `ref` (tagged, or untagged with `allTags`) from the engine to its registry.
 * Resolves only when the engine's stream has ended; an error inside the stream is a
 * PUSH_FAILED carrying the registry's message and a hint.
 */
export async function pushThroughEngine(engine: EngineClient, ref: Reference, opts: EnginePushOptions): Promise<EnginePushResult> {
  if (ref.digest !== undefined) {
    throw new ImgtoolError('USAGE', `cannot push "${ref.familiar}": a push names a tag, not a digest`, { hint: `push ${ref.familiarName}:<tag>` });
  }
  if (opts.allTags && ref.tag !== undefined) {
    throw new ImgtoolError('USAGE', `--all-tags pushes every tag of ${ref.familiarName}; do not name a tag ("${ref.tag}")`);
  }
  if (!opts.allTags && ref.tag === undefined) {
    throw new ImgtoolError('USAGE', `name the tag to push (${ref.familiarName}:<tag>), or use --all-tags`);
  }
  const resolved = await resolveCredentialsWithSource(ref.registry, { ...opts, forPull: false });
  if (resolved) opts.log?.(`credentials for ${ref.registry}: ${describeSource(resolved.source)}`);
  else opts.log?.(`no credentials for ${ref.registry}: pushing anonymously`);
  const registryAuth = encodeRegistryAuth(resolved?.credentials, configKeyFor(ref.registry));

  const progress = new LayerProgress();
  const pushed: PushedTag[] = [];
  const stream = engine.imagePush(ref.familiarName, { registryAuth, ...(ref.tag === undefined ? {} : { tag: ref.tag }) }, opts.signal);
  try {
    for await (const msg of stream) {
      const tag = pushedTagOf(msg);
      // The status line and the aux message report the same tag; keep one.
      if (tag && !pushed.some((p) => p.tag === tag.tag && p.digest === tag.digest)) pushed.push(tag);
      const event = progress.update(msg);
      if (event) opts.onProgress?.(event, progress);
    }
  } catch (err) {
    if (isImgtoolError(err, 'ENGINE_STREAM')) {
      throw await explainEnginePushFailure(ref, err, {
        ...(resolved ? { credentials: resolved.credentials, source: resolved.source } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.log ? { log: opts.log } : {}),
      });
    }
    throw err;
  }
  const last = pushed[pushed.length - 1];
  if (last === undefined) {
    throw new ImgtoolError('PUSH_FAILED', `the engine finished pushing ${ref.familiar} without reporting a digest`, {
      details: { reference: ref.toString() },
      hint: 'the push may not have completed; retry it, and check the image with "imgtool inspect" on the registry',
    });
  }
  return {
    reference: ref.toString(),
    pushed,
    digest: last.digest,
    ...(resolved ? { credentialSource: resolved.source } : {}),
  };
}

/** Says where credentials came from, without the secret. */
export function describeSource(source: CredentialSource): string {
  switch (source.kind) {
    case 'env':
      return `DOCKER_AUTH_CONFIG["${source.key}"]`;
    case 'file':
      return `${source.path} auths["${source.key}"]`;
    case 'helper':
      return `${source.helper} ("${source.key}")`;
  }
}

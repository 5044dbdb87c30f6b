/**
 * `imgtool tag --remote REF NEWTAG`: re-tag in the registry without pulling — GET the
 * manifest (or index) and PUT the very same bytes with the same content type under the new
 * tag. The digest is unchanged by construction, which is what CI promotion wants.
 */
import { ImgtoolError } from '../image/errors.js';
import { isValidTag, registryApiHost, withTag, type Reference } from '../image/reference.js';
import { RegistryClient, type RegistryClientOptions } from './client/client.js';
import { explainRegistryFailure } from './diagnose.js';

/** Options for {@link remoteTag}. */
export interface RemoteTagOptions extends RegistryClientOptions {
  /** Use this client (its registry must be the source's API host). */
  readonly client?: RegistryClient;
}

/** The result of a remote tag. */
export interface RemoteTagResult {
  /** The new reference, e.g. `host/team/app:prod`. */
  readonly reference: string;
  /** Manifest digest (the same as the source's). */
  readonly digest: string;
  readonly mediaType: string;
}

/** Tags `src` (by tag or digest) as `newTag` in the same repository, in the registry. */
export async function remoteTag(src: Reference, newTag: string, opts: RemoteTagOptions = {}): Promise<RemoteTagResult> {
  if (!isValidTag(newTag)) {
    throw new ImgtoolError('REFERENCE_INVALID', `invalid tag "${newTag}": a tag is 1 to 128 characters of letters, digits, "_", "." and "-", and cannot start with "." or "-"`, {
      details: { reference: newTag },
    });
  }
  const target = withTag(src, newTag);
  const client = opts.client ?? new RegistryClient(registryApiHost(src.registry), opts);
  const from = src.digest ?? src.tag ?? 'latest';
  try {
    const manifest = await client.getManifest(src.repository, from, opts.signal === undefined ? {} : { signal: opts.signal });
    if (manifest.mediaType === '') {
      throw new ImgtoolError('MANIFEST_INVALID', `${src.toString()} came without a Content-Type; cannot re-tag it faithfully`, {
        details: { reference: src.toString() },
      });
    }
    const digest = await client.putManifest(src.repository, newTag, manifest.bytes, manifest.mediaType, opts.signal === undefined ? {} : { signal: opts.signal });
    return { reference: target.toString(), digest, mediaType: manifest.mediaType };
  } catch (err) {
    throw await explainRegistryFailure(err, {
      client,
      repository: src.repository,
      tag: newTag,
      ...(opts.credentials === undefined ? {} : { credentials: opts.credentials }),
      operation: 'tag',
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } finally {
    if (opts.client === undefined) await client.close();
  }
}

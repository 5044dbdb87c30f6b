/**
 * Blob upload strategies over the client's upload endpoints (distribution-spec "Pushing
 * blobs"): monolithic (`POST` then one `PUT ?digest=` with the content) or chunked (`PATCH`
 * with `Content-Range` per chunk, then `PUT ?digest=`). Chunked is used when the registry asks
 * for it (`OCI-Chunk-Min-Length`) or the user sets a chunk size; a 413 on a monolithic upload
 * (an nginx `client_max_body_size` in front of the registry) switches that blob to chunks
 * instead of repeating the request that cannot succeed. Sources are re-openable by range, so
 * any chunk can be resent without holding a layer in memory.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { ImgtoolError, isImgtoolError } from '../../image/errors.js';
import type { RegistryClient, UploadSession } from './client.js';
import { registryErrorCodes } from './registry-errors.js';
import { isRetryableStatus } from './retry.js';
import type { BodyFactory } from './transport.js';

/** Content to upload: its digest and size are known, and any byte range can be opened again. */
export interface BlobSource {
  readonly digest: string;
  readonly size: number;
  /** A fresh stream of bytes [start, end) (end exclusive). */
  open(start: number, end: number, signal?: AbortSignal): Readable | Promise<Readable>;
}

/** A blob held in memory (configs and manifests: small by nature). */
export function bufferBlob(bytes: Buffer, digest: string): BlobSource {
  return { digest, size: bytes.length, open: (start, end) => Readable.from([bytes.subarray(start, end)]) };
}

/** A blob in a file (a compressed layer on disk). */
export function fileBlob(path: string, digest: string, size: number): BlobSource {
  return {
    digest,
    size,
    // createReadStream's `end` is inclusive; an empty range gets an empty stream.
    open: (start, end, signal) =>
      end <= start ? Readable.from([]) : createReadStream(path, { start, end: end - 1, ...(signal === undefined ? {} : { signal }) }),
  };
}

/** Default chunk size when a 413 forces chunking and the user chose none. */
export const FALLBACK_CHUNK_SIZE = 5 * 1024 * 1024;

/** Options for {@link uploadBlob}. */
export interface UploadBlobOptions {
  /** Chunk size in bytes (`--chunk-size`); raised to the registry's minimum when smaller. */
  readonly chunkSize?: number;
  /** An upload already started (e.g. the 202 of a refused mount). */
  readonly session?: UploadSession;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

function rangeBody(blob: BlobSource, start: number, end: number): BodyFactory {
  return (signal) => blob.open(start, end, signal);
}

async function monolithic(client: RegistryClient, session: UploadSession, blob: BlobSource, signal?: AbortSignal): Promise<void> {
  await client.finishUpload(session, blob.digest, {
    body: rangeBody(blob, 0, blob.size),
    length: blob.size,
    ...(signal === undefined ? {} : { signal }),
  });
}

async function chunked(client: RegistryClient, first: UploadSession, blob: BlobSource, chunkSize: number, signal?: AbortSignal, log?: (line: string) => void): Promise<void> {
  let session = first;
  let rewinds = 0;
  while (session.offset < blob.size) {
    const start = session.offset;
    const end = Math.min(blob.size, start + chunkSize);
    const expected = end;
    session = await client.uploadChunk(session, rangeBody(blob, start, end), end - start, signal === undefined ? {} : { signal });
    if (session.offset !== expected) {
      // The registry holds a different amount than we sent (a 416 recovery or a partial
      // write): resume from its offset, a bounded number of times.
      rewinds++;
      log?.(`upload of ${blob.digest}: registry has ${session.offset} bytes, expected ${expected}; resuming from there`);
      if (rewinds > 3 || session.offset > blob.size) {
        throw new ImgtoolError('PUSH_FAILED', `the registry lost track of the upload of ${blob.digest} (it reports ${session.offset} of ${blob.size} bytes)`, {
          details: { registry: client.registry, digest: blob.digest },
          hint: 'retry the push; if it persists, the registry (or a proxy) mishandles chunked uploads: try without --chunk-size',
        });
      }
    }
  }
  await client.finishUpload(session, blob.digest, signal === undefined ? {} : { signal });
}

/** Upload sessions one blob may use: a session the registry dropped is not the blob's fault, but the bound stays small. */
export const MAX_UPLOAD_SESSIONS = 3;

/**
 * True when the registry no longer holds the upload session: distribution discards a session
 * whose request broke off mid-body (BLOB_UPLOAD_INVALID), or that a PUT already committed
 * before its answer was lost (BLOB_UPLOAD_UNKNOWN); a retry on that Location can never work.
 * Any 404 inside a session means that ("the upload is unknown", distribution-spec), even
 * when the error body itself arrived cut off and names no code.
 */
function sessionLost(err: unknown): boolean {
  if (!isImgtoolError(err)) return false;
  const codes = registryErrorCodes(err);
  return err.details.status === 404 || codes.includes('BLOB_UPLOAD_UNKNOWN') || codes.includes('BLOB_UPLOAD_INVALID') || codes.includes('DIGEST_INVALID');
}

/**
 * Uploads one blob whose digest and size are known. When the registry lost the session (a
 * connection cut mid-body, an answer lost after the commit), it first checks whether the blob
 * landed after all, then starts over in a fresh session, at most {@link MAX_UPLOAD_SESSIONS}
 * in all (a broken connection, a 5xx or a 429 left after the retries counts too: the retries may
 * have been spent on a session the registry had dropped, or hide a commit). On failure the
 * session is cancelled (best effort) and the error rethrown.
 */
export async function uploadBlob(client: RegistryClient, repository: string, blob: BlobSource, opts: UploadBlobOptions = {}): Promise<void> {
  // A session handed in (a refused mount's 202) serves the first attempt only.
  const { session: _given, ...fresh } = opts;
  for (let attempt = 1; ; attempt++) {
    // Opening the session stays outside the retry: a 404 there (no such repository) is final.
    const session = attempt === 1 && opts.session !== undefined ? opts.session : await client.startUpload(repository, opts.signal === undefined ? {} : { signal: opts.signal });
    try {
      await uploadInSession(client, repository, blob, { ...fresh, session });
      return;
    } catch (err) {
      // A registry that answers a broken-off body early resets the connection, so a dropped session can also
      // show as a broken connection or a gateway's 5xx; either may also hide a commit that happened.
      const unsure = sessionLost(err) || isImgtoolError(err, 'REGISTRY_UNREACHABLE') || (isImgtoolError(err) && isRetryableStatus(err.details.status ?? 0));
      if (!unsure || opts.signal?.aborted === true) throw err;
      const head = await client.headBlob(repository, blob.digest, opts.signal === undefined ? {} : { signal: opts.signal }).catch(() => undefined);
      if (head !== undefined) {
        opts.log?.(`upload of ${blob.digest}: the upload seemed to fail (${(err as Error).message}), but the blob is there (the answer was lost after the commit)`);
        return;
      }
      if (attempt >= MAX_UPLOAD_SESSIONS) throw err;
      opts.log?.(`upload of ${blob.digest}: this session failed (${(err as Error).message}); starting a new upload (${attempt + 1}/${MAX_UPLOAD_SESSIONS})`);
    }
  }
}

/** One upload session's worth of {@link uploadBlob}: monolithic, chunked, or monolithic falling back to chunks on a 413. */
async function uploadInSession(client: RegistryClient, repository: string, blob: BlobSource, opts: UploadBlobOptions): Promise<void> {
  const signalOpt = opts.signal === undefined ? {} : { signal: opts.signal };
  let session = opts.session ?? (await client.startUpload(repository, signalOpt));
  const wanted = opts.chunkSize ?? session.minChunkLength;
  const chunk = wanted === undefined ? undefined : Math.max(wanted, session.minChunkLength ?? 0, 1);
  try {
    if (chunk === undefined || blob.size <= chunk) {
      try {
        await monolithic(client, session, blob, opts.signal);
        return;
      } catch (err) {
        if (!isImgtoolError(err, 'REGISTRY_TOO_LARGE') || opts.chunkSize !== undefined || blob.size <= FALLBACK_CHUNK_SIZE) throw err;
        // A proxy refused the body size: the same request would fail again, so switch to chunks.
        opts.log?.(`413 for ${blob.digest} (${blob.size} bytes) in one request; retrying in ${FALLBACK_CHUNK_SIZE}-byte chunks`);
        await client.cancelUpload(session, signalOpt);
        session = await client.startUpload(repository, signalOpt);
        const fallback = Math.max(FALLBACK_CHUNK_SIZE, session.minChunkLength ?? 0);
        try {
          await chunked(client, session, blob, fallback, opts.signal, opts.log);
          return;
        } catch (err2) {
          if (isImgtoolError(err2, 'REGISTRY_TOO_LARGE')) {
            throw new ImgtoolError('REGISTRY_TOO_LARGE', `${client.registry} refused ${blob.digest} as too large, even in ${fallback}-byte chunks`, {
              cause: err2,
              details: { registry: client.registry, digest: blob.digest, size: blob.size, status: 413 },
              hint: 'a proxy in front of the registry limits request bodies: push with a smaller --chunk-size (e.g. --chunk-size 1M) or raise its limit (nginx client_max_body_size)',
            });
          }
          throw err2;
        }
      }
    }
    await chunked(client, session, blob, chunk, opts.signal, opts.log);
  } catch (err) {
    await client.cancelUpload(session, signalOpt);
    throw err;
  }
}

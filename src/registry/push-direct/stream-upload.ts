/**
 * A blob upload that runs while the blob is still being made: the compressed bytes of a large
 * layer go to the registry in one streamed `PATCH` (distribution-spec "streamed" upload, what
 * docker push does) as the compressor emits them, and the upload is committed with
 * `PUT ?digest=` once the digest is known. The registry checks the digest against what it
 * received, so nothing unverified is ever committed.
 *
 * Streaming is an optimisation, never a requirement: the compressed layer also goes to its
 * temporary file, and any failure here (a refused or cut request, a registry that wants
 * chunks) only makes {@link StreamedUpload.complete} answer false, after which the layer is
 * uploaded from the file the ordinary way (HEAD, then a fresh upload with retries).
 */
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { abortError } from '../../image/errors.js';
import type { RegistryClient, UploadSession } from '../client/client.js';
import { oneShotBody } from '../client/transport.js';

/** Bytes buffered towards the registry before the compressor waits. */
const BODY_BUFFER = 4 * 1024 * 1024;

/** One streamed upload in progress. */
export class StreamedUpload {
  private readonly body = new PassThrough({ highWaterMark: BODY_BUFFER });
  private readonly sent: Promise<UploadSession | undefined>;
  private failure: unknown;
  private written = 0;
  private completing = false;

  private constructor(
    private readonly client: RegistryClient,
    private readonly session: UploadSession,
    private readonly signal: AbortSignal,
    private readonly log?: (line: string) => void,
  ) {
    this.sent = client.uploadStream(session, oneShotBody(this.body), { signal }).then(
      (s) => s,
      (err: unknown) => {
        this.failure = err;
        this.body.destroy();
        return undefined;
      },
    );
  }

  /**
   * Opens an upload session for streaming; undefined when streaming is not possible (the
   * registry asks for chunks of a minimum size, or refused to start an upload — the ordinary
   * path will then meet and report that refusal itself).
   */
  static async start(client: RegistryClient, repository: string, signal: AbortSignal, log?: (line: string) => void): Promise<StreamedUpload | undefined> {
    let session: UploadSession;
    try {
      session = await client.startUpload(repository, { signal });
    } catch (err) {
      if (signal.aborted) throw abortError(signal, 'push');
      log?.(`could not start a streamed upload (${(err as Error).message}); the layer is uploaded once compressed`);
      return undefined;
    }
    if (session.minChunkLength !== undefined) {
      await client.cancelUpload(session, { signal });
      return undefined;
    }
    return new StreamedUpload(client, session, signal, log);
  }

  /** Sends the next compressed bytes (waits while the registry is behind). Never throws. */
  async write(bytes: Buffer): Promise<void> {
    if (this.failure !== undefined || this.body.destroyed) return;
    this.written += bytes.length;
    if (this.body.write(bytes)) return;
    await Promise.race([once(this.body, 'drain'), once(this.body, 'close')]).catch(() => undefined);
  }

  /**
   * Ends the body and commits the upload as `digest`. True when the registry accepted it;
   * false (logged, session cancelled) when the blob must be uploaded from its file instead.
   */
  async complete(digest: string, size: number): Promise<boolean> {
    this.completing = true;
    this.body.end();
    const session = await this.sent;
    if (this.signal.aborted) throw abortError(this.signal, 'push');
    if (session === undefined) {
      this.log?.(`streamed upload of ${digest} failed (${(this.failure as Error | undefined)?.message ?? 'unknown'}); uploading it from its file`);
      await this.client.cancelUpload(this.session, { signal: this.signal });
      return false;
    }
    if (this.written !== size || session.offset !== size) {
      this.log?.(`streamed upload of ${digest}: the registry holds ${session.offset} of ${size} bytes; uploading it from its file`);
      await this.client.cancelUpload(session, { signal: this.signal });
      return false;
    }
    try {
      await this.client.finishUpload(session, digest, { signal: this.signal });
      return true;
    } catch (err) {
      if (this.signal.aborted) throw abortError(this.signal, 'push');
      // Also the case of a commit whose answer was lost: the fallback's HEAD finds the blob.
      this.log?.(`committing the streamed upload of ${digest} failed (${(err as Error).message}); uploading it from its file`);
      await this.client.cancelUpload(session, { signal: this.signal });
      return false;
    }
  }

  /** Gives up (the layer failed to compress, or the push is over): the session is cancelled. */
  abort(): void {
    // A completion in progress owns the session (it commits or cancels it).
    if (this.completing) return;
    this.completing = true;
    this.body.destroy();
    void this.sent.then((s) => this.client.cancelUpload(s ?? this.session)).catch(() => undefined);
  }
}

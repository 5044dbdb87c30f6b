/**
 * Parallel gzip (the pigz/pgzip technique): the input is cut into fixed 1 MiB chunks, each
 * chunk is deflated on libuv's thread pool with the previous chunk's last 32 KiB as its
 * dictionary and ended with a sync flush, and the pieces are written in order between one gzip
 * header and trailer. The result is one ordinary gzip member any gunzip reads, compressed by
 * several cores at once, with a ratio within a fraction of a percent of single-stream zlib.
 *
 * Chunks that deflate cannot shrink (random data, already-compressed files) are stored instead:
 * zlib spends as long searching for matches in random data at level 1 as at level 6 (≈25 MB/s
 * per core) only to emit stored blocks anyway. A chunk counts as incompressible when a 64 KiB
 * sample of it (four 16 KiB slices) does not shrink below 97% at level 1; a chunk with any
 * compressible slice is compressed whole. Everything depends only on the input bytes and the
 * level, so the same layer always gives the same blob (and digest) — a re-push relies on that.
 */
import { createHash } from 'node:crypto';
import { constants as Z, crc32, deflateRaw, type ZlibOptions } from 'node:zlib';

/** Input bytes per chunk. Fixed: the output must not depend on how the input was split into reads. */
export const PGZIP_CHUNK = 1024 * 1024;
/** Deflate's window: the dictionary a chunk gets from its predecessor. */
const WINDOW = 32 * 1024;
const SAMPLE_SLICE = 16 * 1024;
const SAMPLE_SLICES = 4;
/** A sample compressed above this ratio marks its chunk as incompressible. */
const STORE_RATIO = 0.97;
// gzip header: magic, deflate, no flags, mtime 0, no extra flags, OS unix (what zlib writes).
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);
// An empty final fixed-Huffman block: ends the deflate stream after the last sync-flushed chunk.
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

function deflateAsync(data: Buffer, opts: ZlibOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => deflateRaw(data, opts, (err, out) => (err ? reject(err) : resolve(out))));
}

/** An output buffer size no deflate of `n` bytes exceeds (zlib's deflateBound, rounded up). */
function outputBound(n: number): number {
  return n + (n >>> 12) + (n >>> 14) + 1024;
}

/** The 64 KiB sample of a chunk: four slices spread over it (the whole chunk when small). */
function sampleOf(data: Buffer): Buffer {
  if (data.length <= SAMPLE_SLICE * SAMPLE_SLICES) return data;
  const step = Math.floor((data.length - SAMPLE_SLICE) / (SAMPLE_SLICES - 1));
  return Buffer.concat(Array.from({ length: SAMPLE_SLICES }, (_, i) => data.subarray(i * step, i * step + SAMPLE_SLICE)));
}

/** True when deflate would not shrink `data` (judged on a sample at level 1). */
async function incompressible(data: Buffer): Promise<boolean> {
  const sample = sampleOf(data);
  if (sample.length < 1024) return false;
  const packed = await deflateAsync(sample, { level: 1, finishFlush: Z.Z_SYNC_FLUSH, chunkSize: outputBound(sample.length) });
  return packed.length >= sample.length * STORE_RATIO;
}

/** Deflates one chunk into a byte-aligned, non-final piece of a deflate stream. */
async function deflateChunk(data: Buffer, dictionary: Buffer | undefined, level: number): Promise<{ out: Buffer; stored: boolean }> {
  const stored = level === 0 || (await incompressible(data));
  const out = await deflateAsync(data, {
    level: stored ? 0 : level,
    finishFlush: Z.Z_SYNC_FLUSH,
    // Room for the whole output at once (deflate's bound: stored blocks add 5 bytes per 16 KiB at
    // worst): one trip to the thread pool per chunk instead of one per 16 KiB of output.
    chunkSize: outputBound(data.length),
    ...(stored || dictionary === undefined ? {} : { dictionary }),
  });
  return { out, stored };
}

/** Counters of one compression (the benchmark and tests read them). */
export interface PgzipStats {
  chunks: number;
  /** Chunks stored rather than compressed (judged incompressible). */
  storedChunks: number;
}

/** Options for {@link ParallelGzip}. */
export interface ParallelGzipOptions {
  /** zlib level for compressible chunks, 0–9. */
  readonly level: number;
  /** Chunks deflated at once (≥ 1). */
  readonly concurrency: number;
}

/**
 * An incremental parallel gzip encoder: `push()` input in any pieces, `end()` once; compressed
 * output goes to `write` in order (awaited, so a slow sink holds the input back). Also hashes
 * both sides: the uncompressed sha256 (diff id) and the compressed sha256 (blob digest).
 */
export class ParallelGzip {
  readonly stats: PgzipStats = { chunks: 0, storedChunks: 0 };
  private readonly rawHash = createHash('sha256');
  private readonly packedHash = createHash('sha256');
  private rawSize = 0;
  private packedSize = 0;
  private crc = 0;
  private buf: Buffer = Buffer.allocUnsafe(PGZIP_CHUNK);
  private fill = 0;
  private previous: Buffer | undefined;
  private readonly inFlight: Array<Promise<{ out: Buffer; stored: boolean }>> = [];
  private started = false;

  constructor(
    private readonly opts: ParallelGzipOptions,
    private readonly write: (bytes: Buffer) => Promise<void> | void,
  ) {}

  private async emit(bytes: Buffer): Promise<void> {
    this.packedHash.update(bytes);
    this.packedSize += bytes.length;
    await this.write(bytes);
  }

  /** Adds input; resolves when the encoder can take more. */
  async push(data: Uint8Array): Promise<void> {
    if (!this.started) {
      this.started = true;
      await this.emit(HEADER);
    }
    let offset = 0;
    while (offset < data.length) {
      const n = Math.min(PGZIP_CHUNK - this.fill, data.length - offset);
      this.buf.set(data.subarray(offset, offset + n), this.fill);
      this.fill += n;
      offset += n;
      if (this.fill === PGZIP_CHUNK) await this.submit();
    }
  }

  private async submit(): Promise<void> {
    const chunk = this.fill === this.buf.length ? this.buf : this.buf.subarray(0, this.fill);
    this.buf = Buffer.allocUnsafe(PGZIP_CHUNK);
    this.fill = 0;
    this.rawHash.update(chunk);
    this.crc = crc32(chunk, this.crc);
    this.rawSize += chunk.length;
    const dictionary = this.previous === undefined ? undefined : this.previous.subarray(Math.max(0, this.previous.length - WINDOW));
    this.previous = chunk;
    const job = deflateChunk(chunk, dictionary, this.opts.level);
    // An unawaited rejection is handled where the job is awaited, in order.
    job.catch(() => undefined);
    this.inFlight.push(job);
    this.stats.chunks++;
    while (this.inFlight.length >= this.opts.concurrency) await this.drainOne();
  }

  private async drainOne(): Promise<void> {
    const { out, stored } = await (this.inFlight.shift() as Promise<{ out: Buffer; stored: boolean }>);
    if (stored) this.stats.storedChunks++;
    await this.emit(out);
  }

  /** Flushes the last chunk and writes the trailer. */
  async end(): Promise<{ diffId: string; uncompressedSize: number; digest: string; size: number }> {
    if (!this.started) {
      this.started = true;
      await this.emit(HEADER);
    }
    if (this.fill > 0) await this.submit();
    while (this.inFlight.length > 0) await this.drainOne();
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.rawSize % 0x1_0000_0000, 4);
    await this.emit(Buffer.concat([FINAL_BLOCK, trailer]));
    return {
      diffId: `sha256:${this.rawHash.digest('hex')}`,
      uncompressedSize: this.rawSize,
      digest: `sha256:${this.packedHash.digest('hex')}`,
      size: this.packedSize,
    };
  }
}

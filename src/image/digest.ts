/**
 * Content digests (`sha256:<hex>`): parsing, hashing buffers and streams, and a pass-through
 * that verifies digest and size at the end of a stream, so blobs are checked while they flow
 * instead of being buffered first.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { ImgtoolError } from './errors.js';

/** Digest algorithms imgtool can compute (the ones registries use). */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** A parsed digest. */
export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  /** Lower-case hex, 64 (sha256) or 128 (sha512) characters. */
  readonly hex: string;
}

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** Parses `sha256:<64 hex>` / `sha512:<128 hex>`; undefined when `value` is not one. */
export function tryParseDigest(value: string): ParsedDigest | undefined {
  const m = /^(sha256|sha512):([a-f0-9]+)$/.exec(value);
  if (!m) return undefined;
  const algorithm = m[1] as DigestAlgorithm;
  const hex = m[2] as string;
  if (hex.length !== HEX_LENGTH[algorithm]) return undefined;
  return { algorithm, hex };
}

/** Parses a digest, or throws DIGEST_INVALID naming `what` the digest belonged to. */
export function parseDigest(value: string, what = 'digest'): ParsedDigest {
  const parsed = tryParseDigest(value);
  if (!parsed) {
    throw new ImgtoolError('DIGEST_INVALID', `${what} ${JSON.stringify(value.slice(0, 140))} is not a valid digest`, {
      hint: 'a digest is "sha256:" followed by 64 lower-case hex characters',
    });
  }
  return parsed;
}

/** True when `value` is a well-formed sha256/sha512 digest. */
export function isDigest(value: unknown): value is string {
  return typeof value === 'string' && tryParseDigest(value) !== undefined;
}

/** The digest of in-memory bytes (manifests and configs: small by nature). */
export function digestOf(data: Uint8Array | string, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** `sha256:<hex>` of `data`. */
export function sha256(data: Uint8Array | string): string {
  return digestOf(data, 'sha256');
}

/** The first `n` hex characters of a digest, as docker shows image ids. */
export function shortDigest(digest: string, n = 12): string {
  const i = digest.indexOf(':');
  return (i >= 0 ? digest.slice(i + 1) : digest).slice(0, n);
}

/** Digest and byte count of a stream's content. */
export interface StreamDigest {
  readonly digest: string;
  readonly size: number;
}

/**
 * Hashes a stream to its end without keeping it. The stream is destroyed when `signal`
 * aborts; errors carry the stream's own error as `cause`.
 */
export async function digestStream(
  stream: Readable,
  options: { signal?: AbortSignal; algorithm?: DigestAlgorithm } = {},
): Promise<StreamDigest> {
  const algorithm = options.algorithm ?? 'sha256';
  const hash = createHash(algorithm);
  let size = 0;
  const onAbort = (): void => {
    stream.destroy(new ImgtoolError('ABORTED', 'hashing was cancelled', { cause: options.signal?.reason }));
  };
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      size += buf.length;
      hash.update(buf);
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  return { digest: `${algorithm}:${hash.digest('hex')}`, size };
}

/**
 * A pass-through that hashes and counts what flows through it; `result()` is valid once the
 * stream has finished. Used to learn a blob's digest while streaming it somewhere else.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash;
  private readonly algorithm: DigestAlgorithm;
  private bytes = 0;
  private final: string | undefined;

  constructor(algorithm: DigestAlgorithm = 'sha256') {
    super();
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.final = `${this.algorithm}:${this.hash.digest('hex')}`;
    cb();
  }

  /** Bytes seen so far. */
  get size(): number {
    return this.bytes;
  }

  /** Digest and size; throws if the stream has not finished yet (a programming error). */
  result(): StreamDigest {
    if (this.final === undefined) {
      throw new ImgtoolError('IO', 'digest requested before the stream finished');
    }
    return { digest: this.final, size: this.bytes };
  }
}

/** Options for {@link verifyingStream}. */
export interface VerifyOptions {
  /** What the bytes are, for the error message (e.g. "layer sha256:ab… of docker://x"). */
  readonly what?: string;
}

/**
 * A pass-through that errors with DIGEST_MISMATCH when the content does not hash to
 * `expectedDigest`, or when its length differs from `expectedSize` (when given). Too many
 * bytes fail as soon as they arrive; a wrong digest or a short stream fails at the end, so a
 * consumer must treat data as untrusted until the stream finished without error.
 */
export function verifyingStream(expectedDigest: string, expectedSize?: number, options: VerifyOptions = {}): Transform {
  const { algorithm } = parseDigest(expectedDigest, options.what ?? 'expected digest');
  const what = options.what ?? `blob ${expectedDigest}`;
  const hash = createHash(algorithm);
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (expectedSize !== undefined && size > expectedSize) {
        cb(
          new ImgtoolError('DIGEST_MISMATCH', `${what} is longer than the ${expectedSize} bytes its descriptor declares`, {
            details: { expected: expectedDigest, expectedSize },
            hint: 'the source serves different content than it described; do not trust it',
          }),
        );
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      if (expectedSize !== undefined && size !== expectedSize) {
        cb(
          new ImgtoolError('DIGEST_MISMATCH', `${what} has ${size} bytes but its descriptor declares ${expectedSize}`, {
            details: { expected: expectedDigest, expectedSize, actualSize: size },
            hint: 'the content was truncated or replaced; retry, and if it persists the source is corrupt',
          }),
        );
        return;
      }
      const actual = `${algorithm}:${hash.digest('hex')}`;
      if (actual !== expectedDigest) {
        cb(
          new ImgtoolError('DIGEST_MISMATCH', `${what} hashes to ${actual}, not ${expectedDigest}`, {
            details: { expected: expectedDigest, actual, size },
            hint: 'the content was corrupted or replaced; retry, and if it persists the source is corrupt',
          }),
        );
        return;
      }
      cb();
    },
  });
}

/** Throws DIGEST_MISMATCH unless `data` hashes to `expected` (for small in-memory blobs). */
export function verifyBytes(data: Uint8Array, expected: string, what = `blob ${expected}`): void {
  const { algorithm } = parseDigest(expected, what);
  const actual = digestOf(data, algorithm);
  if (actual !== expected) {
    throw new ImgtoolError('DIGEST_MISMATCH', `${what} hashes to ${actual}, not ${expected}`, {
      details: { expected, actual, size: data.length },
      hint: 'the content was corrupted or replaced; do not trust this source',
    });
  }
}

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DigestingStream, digestStream, parseDigest, sha256, tryParseDigest, verifyBytes, verifyingStream } from '../../../src/image/digest.js';
import { isImgtoolError } from '../../../src/image/errors.js';

const sink = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
const data = Buffer.from('hello layers');
const good = sha256(data);

describe('digests', () => {
  it('parses sha256/sha512 and refuses the rest with DIGEST_INVALID', () => {
    expect(parseDigest(good)).toEqual({ algorithm: 'sha256', hex: good.slice(7) });
    expect(tryParseDigest('sha256:abc')).toBeUndefined();
    expect(tryParseDigest(`md5:${'a'.repeat(32)}`)).toBeUndefined();
    expect(tryParseDigest(good.toUpperCase())).toBeUndefined();
    expect(() => parseDigest('nope')).toThrow(expect.objectContaining({ code: 'DIGEST_INVALID' }));
  });

  it('hashes streams and reports sizes', async () => {
    expect(await digestStream(Readable.from([data.subarray(0, 3), data.subarray(3)]))).toEqual({ digest: good, size: data.length });
    const d = new DigestingStream();
    await pipeline(Readable.from([data]), d, sink());
    expect(d.result()).toEqual({ digest: good, size: data.length });
  });

  it('verifyingStream passes matching content through', async () => {
    const out: Buffer[] = [];
    await pipeline(Readable.from([data]), verifyingStream(good, data.length), new Writable({ write: (c, _e, cb) => (out.push(c as Buffer), cb()) }));
    expect(Buffer.concat(out)).toEqual(data);
  });

  it('verifyingStream fails with DIGEST_MISMATCH at the end for other content', async () => {
    const err = await pipeline(Readable.from([Buffer.from('hello Layers')]), verifyingStream(good), sink()).catch((e: unknown) => e);
    expect(isImgtoolError(err, 'DIGEST_MISMATCH')).toBe(true);
    expect((err as Error).message).toContain(`not ${good}`);
  });

  it('verifyingStream fails for a short (truncated) or long stream', async () => {
    const short = await pipeline(Readable.from([data.subarray(0, 5)]), verifyingStream(good, data.length), sink()).catch((e: unknown) => e);
    expect(isImgtoolError(short, 'DIGEST_MISMATCH')).toBe(true);
    expect((short as Error).message).toMatch(/has 5 bytes but its descriptor declares 12/);
    const long = await pipeline(Readable.from([data, data]), verifyingStream(good, data.length), sink()).catch((e: unknown) => e);
    expect((long as Error).message).toMatch(/longer than/);
  });

  it('verifyBytes checks small blobs', () => {
    expect(() => verifyBytes(data, good)).not.toThrow();
    expect(() => verifyBytes(Buffer.from('x'), good)).toThrow(expect.objectContaining({ code: 'DIGEST_MISMATCH' }));
  });
});

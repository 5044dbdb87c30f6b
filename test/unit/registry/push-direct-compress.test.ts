/**
 * The direct push's layer compressor (`ParallelGzip` / `gzipToFile`): chunks deflated in
 * parallel must still make one valid gzip member (read back by zlib and by the system gzip),
 * hash both sides correctly, store incompressible chunks, and give the same bytes for the same
 * input however the input is split into reads — a re-push relies on that digest being stable.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { gzipToFile } from '../../../src/registry/push-direct/compress.js';
import { PGZIP_CHUNK, ParallelGzip, type PgzipStats } from '../../../src/registry/push-direct/pgzip.js';

const dir = mkdtempSync(join(tmpdir(), 'imgtool-pgzip-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Text-like data that compresses well. */
function text(n: number): Buffer {
  const parts: string[] = [];
  let len = 0;
  for (let i = 0; len < n; i++) {
    const line = `line ${i} of a compressible layer: ${'abcdefgh'.repeat(i % 7)}\n`;
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

async function compress(input: Buffer, piece: number, level = 6, concurrency = 3): Promise<{ out: Buffer; stats: PgzipStats; r: Awaited<ReturnType<ParallelGzip['end']>> }> {
  const parts: Buffer[] = [];
  const gz = new ParallelGzip({ level, concurrency }, (b) => void parts.push(b));
  for (let o = 0; o < input.length; o += piece) await gz.push(input.subarray(o, o + piece));
  const r = await gz.end();
  return { out: Buffer.concat(parts), stats: gz.stats, r };
}

describe('ParallelGzip', () => {
  const mixed = Buffer.concat([text(PGZIP_CHUNK + 12345), randomBytes(2 * PGZIP_CHUNK + 777), text(PGZIP_CHUNK / 2)]);

  it('round-trips text, random and mixed data of awkward sizes, and hashes both sides', async () => {
    for (const input of [Buffer.alloc(0), Buffer.from('x'), text(1000), text(3 * PGZIP_CHUNK), randomBytes(PGZIP_CHUNK + 1), mixed]) {
      const { out, r } = await compress(input, 65536);
      expect(gunzipSync(out).equals(input)).toBe(true);
      expect(r.diffId).toBe(sha(input));
      expect(r.uncompressedSize).toBe(input.length);
      expect(r.digest).toBe(sha(out));
      expect(r.size).toBe(out.length);
    }
  });

  it('gives the same bytes however the input is split, and at any concurrency', async () => {
    const a = await compress(mixed, 65536);
    const b = await compress(mixed, 1000, 6, 1);
    const c = await compress(mixed, mixed.length, 6, 8);
    expect(b.r.digest).toBe(a.r.digest);
    expect(c.r.digest).toBe(a.r.digest);
  });

  it('stores incompressible chunks and compresses the rest (ratio close to single-stream zlib)', async () => {
    const rnd = await compress(randomBytes(3 * PGZIP_CHUNK), 65536);
    expect(rnd.stats).toEqual({ chunks: 3, storedChunks: 3 });
    expect(rnd.out.length).toBeLessThan(3 * PGZIP_CHUNK * 1.001);
    const txt = text(4 * PGZIP_CHUNK);
    const t = await compress(txt, 65536);
    expect(t.stats).toEqual({ chunks: 4, storedChunks: 0 });
    const { gzipSync } = await import('node:zlib');
    // The previous chunk's window is the next one's dictionary: barely worse than one stream.
    expect(t.out.length).toBeLessThan(gzipSync(txt, { level: 6 }).length * 1.05);
    expect(t.out.length).toBeLessThan(txt.length / 5);
  });

  it('level 0 stores everything; a different level gives a different, still valid blob', async () => {
    const txt = text(2 * PGZIP_CHUNK);
    const l0 = await compress(txt, 65536, 0);
    expect(l0.stats.storedChunks).toBe(2);
    const l1 = await compress(txt, 65536, 1);
    expect(gunzipSync(l1.out).equals(txt)).toBe(true);
    expect(l1.r.digest).not.toBe((await compress(txt, 65536, 6)).r.digest);
  });
});

describe('gzipToFile', () => {
  it('writes a file the system gzip accepts, with the digests of what it wrote', async () => {
    const input = Buffer.concat([text(PGZIP_CHUNK * 2), randomBytes(PGZIP_CHUNK)]);
    const path = join(dir, 'layer.gz');
    let stats: PgzipStats | undefined;
    const f = await gzipToFile(Readable.from([input.subarray(0, 100_000), input.subarray(100_000)]), path, { onStats: (s) => (stats = s) });
    const bytes = readFileSync(path);
    expect(f.digest).toBe(sha(bytes));
    expect(f.size).toBe(bytes.length);
    expect(f.diffId).toBe(sha(input));
    expect(stats).toEqual({ chunks: 3, storedChunks: 1 });
    execFileSync('gzip', ['-t', path]);
    expect(execFileSync('gzip', ['-dc', path], { maxBuffer: 1 << 26 }).equals(input)).toBe(true);
  });

  it('stops with ABORTED when the signal fires, and with IO on a broken input', async () => {
    const ac = new AbortController();
    async function* slow(): AsyncGenerator<Buffer> {
      yield text(1000);
      ac.abort();
      yield text(1000);
    }
    await expect(gzipToFile(slow(), join(dir, 'a.gz'), { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    async function* broken(): AsyncGenerator<Buffer> {
      yield text(1000);
      throw new Error('disk went away');
    }
    await expect(gzipToFile(broken(), join(dir, 'b.gz'))).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('disk went away') });
    await expect(gzipToFile(Readable.from([]), join(dir, 'c.gz'), { level: 11 })).rejects.toMatchObject({ code: 'USAGE' });
  });
});

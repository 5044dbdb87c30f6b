import { describe, expect, it } from 'vitest';
import { readTar, normalizeTarPath } from '../../../src/layers/tar.js';
import { isImgtoolError } from '../../../src/image/errors.js';
import { buildTar, chunked, header } from './tar-builder.js';

async function list(data: Buffer, chunk = 100): Promise<Array<{ path: string; type: string; size: number; linkpath?: string }>> {
  const out = [];
  for await (const e of readTar(chunked(data, chunk), { what: 'test layer' })) {
    out.push({ path: e.path, type: e.type, size: e.size, ...(e.linkpath ? { linkpath: e.linkpath } : {}) });
  }
  return out;
}

async function failure(data: Buffer): Promise<unknown> {
  try {
    await list(data);
  } catch (err) {
    return err;
  }
  throw new Error('expected readTar to fail');
}

describe('readTar', () => {
  it('lists files, dirs, links with sizes across odd chunk boundaries', async () => {
    const tar = buildTar([
      { path: './', type: 'dir' },
      { path: 'etc/', type: 'dir' },
      { path: 'etc/passwd', content: 'root:x:0:0\n' },
      { path: 'bin/sh', type: 'symlink', linkpath: '/bin/busybox' },
      { path: 'bin/ash', type: 'hardlink', linkpath: './etc/passwd' },
      { path: 'big', content: Buffer.alloc(5000, 1) },
    ]);
    for (const chunk of [1, 7, 511, 512, 513, 100000]) {
      expect(await list(tar, chunk)).toEqual([
        { path: '', type: 'directory', size: 0 },
        { path: 'etc', type: 'directory', size: 0 },
        { path: 'etc/passwd', type: 'file', size: 11 },
        { path: 'bin/sh', type: 'symlink', size: 0, linkpath: '/bin/busybox' },
        { path: 'bin/ash', type: 'hardlink', size: 0, linkpath: 'etc/passwd' },
        { path: 'big', type: 'file', size: 5000 },
      ]);
    }
  });

  it('reads long names from pax headers', async () => {
    const long = `${'d'.repeat(150)}/${'f'.repeat(120)}`;
    expect(await list(buildTar([{ path: long, content: 'x', pax: true }]))).toEqual([{ path: long, type: 'file', size: 1 }]);
  });

  it('returns bodies on request and reports offsets', async () => {
    const tar = buildTar([{ path: 'a', content: 'hello' }, { path: 'b', content: 'world!' }]);
    const seen = [];
    for await (const e of readTar(chunked(tar, 3), { what: 't', wantBody: (x) => x.path === 'b' })) seen.push(e);
    expect(seen[0]?.body).toBeUndefined();
    expect(seen[1]?.body?.toString()).toBe('world!');
    expect(seen[1]?.dataOffset).toBe(512 * 3);
    expect(tar.subarray(seen[1]!.dataOffset, seen[1]!.dataOffset + 6).toString()).toBe('world!');
  });

  it('refuses absolute paths', async () => {
    const err = await failure(buildTar([{ path: '/etc/passwd', content: 'x' }]));
    expect(isImgtoolError(err, 'LAYER_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/absolute path/);
  });

  it('refuses paths that climb out of the root, also in hard link targets', async () => {
    expect(isImgtoolError(await failure(buildTar([{ path: '../../etc/cron.d/x', content: 'x' }])), 'LAYER_INVALID')).toBe(true);
    expect(isImgtoolError(await failure(buildTar([{ path: 'a/../../x', content: 'x' }])), 'LAYER_INVALID')).toBe(true);
    expect(isImgtoolError(await failure(buildTar([{ path: 'x', type: 'hardlink', linkpath: '../../etc/shadow' }])), 'LAYER_INVALID')).toBe(true);
    // Staying inside the root is fine.
    expect(normalizeTarPath('a/../b/./c/', 't')).toBe('b/c');
  });

  it('reports a truncated archive inside an entry', async () => {
    const tar = buildTar([{ path: 'big', content: Buffer.alloc(4096, 2) }]);
    const err = await failure(tar.subarray(0, 2048));
    expect(isImgtoolError(err, 'LAYER_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/truncated/);
  });

  it('reports a truncated header', async () => {
    const tar = buildTar([{ path: 'a', content: 'x' }, { path: 'b', content: 'y' }]);
    expect((await failure(tar.subarray(0, 1024 + 100)) as Error).message).toMatch(/truncated inside a header/);
  });

  it('reports a damaged header checksum', async () => {
    const tar = buildTar([{ path: 'a', content: 'x' }]);
    tar[10] = 0x41;
    expect((await failure(tar) as Error).message).toMatch(/checksum/);
  });

  it('accepts an archive without the end marker at an entry boundary', async () => {
    expect(await list(buildTar([{ path: 'a', content: 'x' }], { end: false }))).toHaveLength(1);
  });

  it('wraps errors of the source stream', async () => {
    async function* broken(): AsyncGenerator<Buffer> {
      yield header('a', '0', 10);
      throw new Error('socket hang up');
    }
    const err = await (async () => {
      try {
        for await (const _ of readTar(broken(), { what: 'layer x' })) void _;
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isImgtoolError(err, 'LAYER_INVALID')).toBe(true);
    expect((err as Error).message).toMatch(/socket hang up/);
  });
});

import { describe, expect, it } from 'vitest';
import { scanLayer, type LayerListing } from '../../../src/layers/listing.js';
import { analyzeLayers } from '../../../src/layers/analysis.js';
import { isImgtoolError } from '../../../src/image/errors.js';
import { buildTar, chunked, type BuildEntry } from './tar-builder.js';

const scan = (entries: BuildEntry[]): Promise<LayerListing> => scanLayer(chunked(buildTar(entries), 333), { what: 'test layer' });

describe('scanLayer', () => {
  it('separates whiteouts and opaque markers from files and counts content size like the engine', async () => {
    const l = await scan([
      { path: 'etc/', type: 'dir' },
      { path: 'etc/.wh.old.conf' },
      { path: 'var/cache/.wh..wh..opq' },
      { path: '.wh..wh.plnk/', type: 'dir' },
      { path: 'bin/busybox', content: Buffer.alloc(1000) },
      { path: 'bin/sh', type: 'symlink', linkpath: '/bin/busybox' },
      { path: 'bin/ash', type: 'hardlink', linkpath: 'bin/busybox' },
    ]);
    expect(l.whiteouts).toEqual(['etc/old.conf']);
    expect(l.opaqueDirs).toEqual(['var/cache']);
    expect(l.entries.map((e) => e.path)).toEqual(['etc', 'bin/busybox', 'bin/sh', 'bin/ash']);
    // 1000 file bytes + 12 bytes of symlink target; the hard link adds nothing (same inode).
    expect(l.contentSize).toBe(1012);
  });

  it('refuses a whiteout that names the directory itself', async () => {
    await expect(scan([{ path: 'a/.wh..' }])).rejects.toSatisfy((e) => isImgtoolError(e, 'LAYER_INVALID'));
  });
});

describe('analyzeLayers', () => {
  it('counts a file deleted by a later layer as wasted', async () => {
    const base = await scan([{ path: 'big.bin', content: Buffer.alloc(10_000) }, { path: 'keep', content: 'k' }]);
    const del = await scan([{ path: '.wh.big.bin' }]);
    const a = analyzeLayers([base, del]);
    expect(a.totalBytes).toBe(10_001);
    expect(a.wastedBytes).toBe(10_000);
    expect(a.finalBytes).toBe(1);
    expect(a.efficiency).toBeCloseTo(1 / 10_001, 10);
    expect(a.wasted).toEqual([{ path: 'big.bin', size: 10_000, layer: 0, hiddenBy: 1, how: 'deleted' }]);
    expect(a.layers[1]?.removed).toEqual({ paths: ['big.bin'], files: 1, bytes: 10_000 });
    expect(a.finalFiles).toBe(1);
  });

  it('counts overwritten versions, also when the new one is larger', async () => {
    const l0 = await scan([{ path: 'app/data', content: Buffer.alloc(300) }]);
    const l1 = await scan([{ path: 'app/data', content: Buffer.alloc(500) }]);
    const a = analyzeLayers([l0, l1]);
    expect(a.wastedBytes).toBe(300);
    expect(a.wasted[0]).toMatchObject({ path: 'app/data', how: 'overwritten', layer: 0, hiddenBy: 1 });
    expect(a.layers[1]?.changed).toEqual({ count: 1, bytes: 500 });
    expect(a.layers[1]?.added.count).toBe(0);
  });

  it('deletes whole directories through a whiteout', async () => {
    const l0 = await scan([
      { path: 'var/lib/apt/lists/a', content: Buffer.alloc(100) },
      { path: 'var/lib/apt/lists/b', content: Buffer.alloc(200) },
      { path: 'var/lib/apt/lists/sub/c', content: Buffer.alloc(300) },
    ]);
    const l1 = await scan([{ path: 'var/lib/apt/.wh.lists' }]);
    const a = analyzeLayers([l0, l1]);
    expect(a.wastedBytes).toBe(600);
    expect(a.wasted.map((w) => w.path)).toEqual(['var/lib/apt/lists/sub/c', 'var/lib/apt/lists/b', 'var/lib/apt/lists/a']);
    expect(a.finalFiles).toBe(0);
  });

  it('opaque directories hide lower content but not what the same layer adds', async () => {
    const l0 = await scan([
      { path: 'cache/old1', content: Buffer.alloc(50) },
      { path: 'cache/deep/old2', content: Buffer.alloc(70) },
      { path: 'other/x', content: Buffer.alloc(5) },
    ]);
    // The new file comes first in the archive: order inside a layer must not matter.
    const l1 = await scan([{ path: 'cache/new', content: Buffer.alloc(20) }, { path: 'cache/.wh..wh..opq' }]);
    const a = analyzeLayers([l0, l1]);
    expect(a.wastedBytes).toBe(120);
    expect(a.finalFiles).toBe(2);
    expect(a.layers[1]?.removed).toEqual({ paths: ['cache/'], files: 2, bytes: 120 });
    expect(a.layers[1]?.added).toEqual({ count: 1, bytes: 20 });
    expect(a.biggest.map((f) => f.path)).toEqual(['cache/new', 'other/x']);
  });

  it('a whiteout in the same layer as a re-created path only hides the lower version', async () => {
    const l0 = await scan([{ path: 'etc/conf/a', content: Buffer.alloc(10) }]);
    const l1 = await scan([{ path: 'etc/conf', type: 'symlink', linkpath: '/x' }, { path: 'etc/.wh.conf' }]);
    const a = analyzeLayers([l0, l1]);
    expect(a.wastedBytes).toBe(10);
    expect(a.finalFiles).toBe(1);
  });

  it('a file replaced by a directory is wasted, and the efficiency of an image without waste is 1', async () => {
    const l0 = await scan([{ path: 'x', content: Buffer.alloc(40) }]);
    const l1 = await scan([{ path: 'x/y', content: Buffer.alloc(1) }]);
    expect(analyzeLayers([l0, l1]).wastedBytes).toBe(40);
    expect(analyzeLayers([l0]).efficiency).toBe(1);
    expect(analyzeLayers([]).efficiency).toBe(1);
  });

  it('keeps the top N biggest files per layer', async () => {
    const l0 = await scan(Array.from({ length: 30 }, (_, i) => ({ path: `f${i}`, content: Buffer.alloc(i * 10) })));
    const a = analyzeLayers([l0], { top: 3 });
    expect(a.layers[0]?.biggest.map((f) => f.size)).toEqual([290, 280, 270]);
  });
});

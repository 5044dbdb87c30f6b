/**
 * The blob-location cache of direct push (`BlobLocations` persisted as JSON): where it lives,
 * that a damaged or foreign file is ignored with a note (never a failed push), that entries
 * that are not digests are dropped, that it stays bounded, and that writes are atomic.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlobLocations, MAX_BLOB_LOCATION_ENTRIES, defaultBlobLocationsFile } from '../../../src/registry/push-direct/blob-locations.js';

const dir = mkdtempSync(join(tmpdir(), 'imgtool-blobloc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;
const GZ = 'application/vnd.docker.image.rootfs.diff.tar.gzip';

describe('defaultBlobLocationsFile', () => {
  it('uses an absolute XDG_CACHE_HOME, else ~/.cache, else nothing', () => {
    expect(defaultBlobLocationsFile({ XDG_CACHE_HOME: '/c', HOME: '/h' })).toBe('/c/imgtool/blob-locations.json');
    expect(defaultBlobLocationsFile({ XDG_CACHE_HOME: 'relative', HOME: '/h' })).toBe('/h/.cache/imgtool/blob-locations.json');
    expect(defaultBlobLocationsFile({}, '/home/u')).toBe('/home/u/.cache/imgtool/blob-locations.json');
    expect(defaultBlobLocationsFile({})).toBeUndefined();
  });
});

describe('BlobLocations persistence', () => {
  it('round-trips locations and compressed forms; a missing file is an empty cache without a note', async () => {
    const file = join(dir, 'a', 'cache.json');
    const notes: string[] = [];
    const empty = await BlobLocations.load(file, { log: (l) => notes.push(l) });
    expect(empty.hasCompressed()).toBe(false);
    expect(notes).toEqual([]);
    empty.add(d(1), 'reg:5000', 'team/app');
    empty.setCompressed(d(2), { digest: d(1), size: 10, mediaType: GZ });
    await empty.save(file);
    const back = await BlobLocations.load(file);
    expect(back.candidates(d(1), 'reg:5000')).toEqual(['team/app']);
    expect(back.compressed(d(2))).toEqual({ digest: d(1), size: 10, mediaType: GZ });
    // Atomic: only the file itself is left, no temporary.
    expect(readdirSync(join(dir, 'a'))).toEqual(['cache.json']);
  });

  it('a damaged file is ignored with a note and rewritten on the next save', async () => {
    for (const [i, text] of ['{"version":1,"locations":{"sha', 'null', '[1,2]', '{"version":99}', '\u0000\u0001'].entries()) {
      const file = join(dir, `bad-${i}.json`);
      writeFileSync(file, text);
      const notes: string[] = [];
      const store = await BlobLocations.load(file, { log: (l) => notes.push(l) });
      expect(store.hasCompressed()).toBe(false);
      expect(notes.join('\n')).toMatch(/is damaged .*ignoring it/);
      await store.save(file);
      expect((JSON.parse(readFileSync(file, 'utf8')) as { version: number }).version).toBe(1);
    }
  });

  it('drops entries that are not digests or not well-formed, keeps the rest', async () => {
    const file = join(dir, 'mixed.json');
    writeFileSync(
      file,
      JSON.stringify({
        version: 1,
        locations: { [d(1)]: ['r/a', 7], 'not-a-digest': ['r/b'], [d(2)]: 'r/c' },
        compressed: {
          [d(3)]: { digest: d(4), size: 5, mediaType: GZ },
          [d(5)]: { digest: 'sha256:short', size: 5, mediaType: GZ },
          [d(6)]: { digest: d(7), size: -1, mediaType: GZ },
          '../x': { digest: d(8), size: 1, mediaType: GZ },
        },
      }),
    );
    const store = await BlobLocations.load(file);
    expect(store.candidates(d(1), 'r')).toEqual(['a']);
    expect(store.candidates(d(2), 'r')).toEqual([]);
    expect(store.compressed(d(3))?.digest).toBe(d(4));
    expect(store.compressed(d(5))).toBeUndefined();
    expect(store.compressed(d(6))).toBeUndefined();
  });

  it('stays bounded: the oldest entries go first, the newest survive a save and load', async () => {
    const store = new BlobLocations();
    const n = MAX_BLOB_LOCATION_ENTRIES + 50;
    for (let i = 0; i < n; i++) {
      store.add(d(i), 'r', 'repo');
      store.setCompressed(d(i), { digest: d(i + 1_000_000), size: i, mediaType: GZ });
    }
    const file = join(dir, 'big.json');
    await store.save(file);
    const back = await BlobLocations.load(file);
    expect(back.compressed(d(0))).toBeUndefined();
    expect(back.candidates(d(0), 'r')).toEqual([]);
    expect(back.compressed(d(n - 1))?.size).toBe(n - 1);
    expect(back.candidates(d(n - 1), 'r')).toEqual(['repo']);
    const data = JSON.parse(readFileSync(file, 'utf8')) as { locations: object; compressed: object };
    expect(Object.keys(data.locations).length).toBeLessThanOrEqual(MAX_BLOB_LOCATION_ENTRIES);
    expect(Object.keys(data.compressed).length).toBeLessThanOrEqual(MAX_BLOB_LOCATION_ENTRIES);
  });

  it('an unwritable place fails the save (the CLI only notes it), leaving no temporary file', async () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    const file = join(ro, 'sub');
    writeFileSync(file, 'a file where a directory should be');
    const store = new BlobLocations();
    store.add(d(1), 'r', 'x');
    await expect(store.save(join(file, 'cache.json'))).rejects.toThrow();
    expect(readdirSync(ro)).toEqual(['sub']);
  });
});

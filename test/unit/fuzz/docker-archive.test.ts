/**
 * Fuzzing `docker-archive` tars (issue 7) through every reader imgtool has for them: the
 * random-access source (`openDockerArchive` + each layer scanned), the one-pass save-stream
 * scanner (`scanSaveStream`) and direct push's spooler (`spoolSaveTar`, the only one that writes
 * files). Archives are built by hand so they can hold what docker never writes: `../` and
 * absolute paths, symlink escapes, hard links out of the root, huge and base-256 size fields,
 * GNU long names and pax records, truncation, flipped bytes, broken gzip, bad manifest.json.
 * Every case must end in an image or an ImgtoolError, never a crash, a hang or a write outside
 * its scratch directory.
 */
import { createHash } from 'node:crypto';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { openDockerArchive, scanLayer, scanSaveStream } from '../../../src/layers/index.js';
import { spoolSaveTar } from '../../../src/registry/push-direct/spool-save.js';
import { isImgtoolError } from '../../../src/image/errors.js';
import { buildTar, header, type BuildEntry } from '../layers/tar-builder.js';
import { fuzz, nastyText, type CaseContext, type Rng, isReplay } from './support.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Recomputes a ustar header's checksum so a mutated header still reaches the parser's logic. */
function fixChecksum(h: Buffer): void {
  h.write('        ', 148, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
}

/** Entries of a layer: ordinary files plus, sometimes, hostile ones. */
function layerEntries(rng: Rng, marker: string): BuildEntry[] {
  const entries: BuildEntry[] = [
    { path: 'etc/', type: 'dir' },
    { path: 'etc/hostname', content: 'box\n' },
    { path: 'bin/sh', content: Buffer.alloc(rng.range(0, 3000), 7) },
    { path: 'etc/.wh.old', content: '' },
  ];
  const hostile: BuildEntry[] = [
    { path: `../${marker}`, content: 'escaped' },
    { path: `../../${marker}`, content: 'escaped' },
    { path: `/tmp/${marker}`, content: 'absolute' },
    { path: `a/../../${marker}`, content: 'climb' },
    { path: 'esc', type: 'symlink', linkpath: '../../..' },
    { path: `esc/${marker}`, content: 'through a symlink' },
    { path: 'abs', type: 'symlink', linkpath: '/' },
    { path: `abs/tmp/${marker}`, content: 'through an absolute symlink' },
    { path: 'hard', type: 'hardlink', linkpath: '../../etc/passwd' },
    { path: 'hard2', type: 'hardlink', linkpath: '/etc/passwd' },
    { path: `${'d/'.repeat(rng.range(50, 400))}deep`, content: 'x', pax: true },
    { path: nastyText(rng, 3) || 'x', content: 'odd name' },
    { path: 'dev/null', type: 'char' },
  ];
  for (let i = rng.int(4); i > 0; i--) entries.splice(rng.int(entries.length + 1), 0, rng.pick(hostile));
  return entries;
}

/** A docker save archive (Engine ≤ 24 layout or ≥ 25 OCI layout), then mutated. */
function archive(rng: Rng, marker: string): Buffer {
  const layers = Array.from({ length: rng.range(0, 3) }, () => {
    const tar = buildTar(layerEntries(rng, marker));
    return { tar, stored: rng.chance(0.3) ? gzipSync(tar) : tar };
  });
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => `sha256:${sha(l.tar)}`) }, history: [] }),
  );
  const oci = rng.chance(0.3);
  const configPath = oci ? `blobs/sha256/${sha(config)}` : `${sha(config)}.json`;
  const layerPaths = layers.map((l, i) => (oci ? `blobs/sha256/${sha(l.stored)}` : `${sha(l.tar).slice(0, 12)}${i}/layer.tar`));
  let manifest: unknown = [{ Config: configPath, RepoTags: ['app:1'], Layers: layerPaths }];
  // manifest.json mutations: wrong types, traversal, missing files, pointing the config at a layer.
  switch (rng.int(12)) {
    case 0:
      manifest = rng.pick([{}, null, 'x', [], [null], [{ Config: 1, Layers: 'x' }], [{ Config: configPath, Layers: [1, {}] }], [{ Config: configPath, Layers: layerPaths, RepoTags: 'app' }]]);
      break;
    case 1:
      manifest = [{ Config: `../${marker}`, RepoTags: null, Layers: layerPaths.map(() => `../../${marker}`) }];
      break;
    case 2:
      manifest = [{ Config: '/etc/passwd', RepoTags: ['a'], Layers: ['/etc/shadow'] }];
      break;
    case 3:
      manifest = [{ Config: layerPaths[0] ?? configPath, RepoTags: [nastyText(rng, 2)], Layers: layerPaths }];
      break;
    case 4:
      manifest = [{ Config: configPath, RepoTags: ['app:1'], Layers: [...layerPaths, 'missing/layer.tar'] }];
      break;
    default:
  }
  const files: BuildEntry[] = [];
  const order = rng.chance(0.5);
  if (order) files.push({ path: 'manifest.json', content: rng.chance(0.05) ? '[{"Config":' : JSON.stringify(manifest) });
  files.push({ path: configPath, content: rng.chance(0.05) ? '{"rootfs":' : config });
  layers.forEach((l, i) => {
    const p = layerPaths[i] as string;
    if (!oci && rng.chance(0.1)) {
      // Engine ≤ 24 writes repeated layers as symlinks; sometimes an escaping one.
      files.push({ path: p, type: 'symlink', linkpath: rng.pick(['../other/layer.tar', `../../../${marker}`, '/etc/passwd']) });
    } else files.push({ path: p, content: rng.chance(0.05) ? Buffer.concat([l.stored.subarray(0, l.stored.length >> 1), Buffer.alloc(3, 0xff)]) : l.stored });
  });
  if (oci) files.push({ path: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' }, { path: 'index.json', content: rng.chance(0.5) ? '{"schemaVersion":2,"manifests":[]}' : nastyText(rng) });
  if (!order) files.push({ path: 'manifest.json', content: JSON.stringify(manifest) });
  for (let i = rng.int(3); i > 0; i--) files.splice(rng.int(files.length + 1), 0, rng.pick(layerEntries(rng, marker)));
  let tar = buildTar(files, { end: rng.chance(0.9) });
  // Byte-level mutations of the outer tar.
  for (let k = rng.int(3); k > 0; k--) {
    const blocks = Math.floor(tar.length / 512);
    switch (rng.int(7)) {
      case 0:
        tar = tar.subarray(0, rng.int(tar.length + 1)); // truncated anywhere
        break;
      case 1: {
        // A header block whose size field is huge (octal or base-256), checksum fixed.
        const h = header(rng.pick(['manifest.json', 'big/layer.tar', `../${marker}`]), '0', 0);
        if (rng.chance(0.5)) h.write('77777777777\0', 124, 'ascii');
        else {
          h[124] = 0x80;
          for (let i = 125; i < 136; i++) h[i] = 0xff;
        }
        fixChecksum(h);
        const at = rng.int(blocks + 1) * 512;
        tar = Buffer.concat([tar.subarray(0, at), h, tar.subarray(at)]);
        break;
      }
      case 2: {
        // A GNU long name ('L') or pax ('x') record with an absurd declared length.
        const kind = rng.pick(['L', 'x', 'K', 'g']);
        const body = kind === 'x' || kind === 'g' ? Buffer.from(rng.pick(['99999999999 path=a\n', '5 x\n', `30 path=../../${marker}\n`, '-1 path=x\n', '18 size=99999999999\n'])) : Buffer.from(`../../${marker}\0`);
        const h = header('././@LongLink', kind, rng.chance(0.5) ? body.length : rng.range(0, 1 << 30));
        const at = rng.int(blocks + 1) * 512;
        const padded = Buffer.concat([body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
        tar = Buffer.concat([tar.subarray(0, at), h, padded, tar.subarray(at)]);
        break;
      }
      case 3: {
        // Flip bytes inside a header and fix its checksum, so the damage reaches the fields.
        if (blocks === 0) break;
        const at = rng.int(blocks) * 512;
        const h = Buffer.from(tar.subarray(at, at + 512));
        for (let i = rng.range(1, 6); i > 0; i--) h[rng.int(512)] = rng.int(256);
        fixChecksum(h);
        tar = Buffer.concat([tar.subarray(0, at), h, tar.subarray(at + 512)]);
        break;
      }
      case 4:
        tar = Buffer.concat([tar, rng.bytes(rng.range(1, 2000))]); // trailing garbage
        break;
      case 5:
        if (rng.chance(0.3)) tar = gzipSync(tar); // a compressed save tar
        break;
      default:
    }
  }
  return tar;
}

interface Input {
  readonly tar: Buffer;
  readonly ref?: string;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
  for await (const _ of stream) {
    /* read to the end */
  }
}

async function run(input: Input, ctx: CaseContext): Promise<void> {
  const file = join(ctx.tmp, 'image.tar');
  writeFileSync(file, input.tar);
  const { signal } = ctx;
  const failures: unknown[] = [];
  // Each reader is tried on its own so one reader's ImgtoolError does not hide another's crash.
  const attempt = async (f: () => Promise<void>): Promise<void> => {
    try {
      await f();
    } catch (err) {
      if (!isImgtoolError(err)) throw err;
      failures.push(err);
    }
  };
  await attempt(async () => {
    const image = await openDockerArchive(file, { signal, ...(input.ref === undefined ? {} : { ref: input.ref }) });
    await image.config();
    for (const layer of await image.layers()) {
      await scanLayer(await layer.uncompressed(signal), { what: 'fuzz layer', signal });
    }
  });
  await attempt(async () => {
    await scanSaveStream(createReadStream(file), { what: 'fuzz save stream', signal, ...(input.ref === undefined ? {} : { ref: input.ref }) });
  });
  await attempt(async () => {
    const spooled = await spoolSaveTar(createReadStream(file), { tmpDir: ctx.tmp, signal, gzipLevel: 1, source: 'docker-archive:fuzz', ...(input.ref === undefined ? {} : { select: input.ref }) });
    try {
      for (const layer of await spooled.layers()) await drain(await layer.uncompressed(signal));
    } finally {
      await spooled.cleanup();
    }
  });
  if (failures.length === 3) throw failures[0];
}

describe('fuzz: docker-archive tars', () => {
  it('hostile save tars end in an image or an ImgtoolError in every reader, writing nothing outside the scratch dir', async () => {
    const report = await fuzz<Input>({
      name: 'docker-archive',
      seed: 0xa4c1,
      cases: 800,
      generate: (rng, ctx) => ({ tar: archive(rng, ctx.marker), ...(rng.chance(0.2) ? { ref: rng.pick(['app:1', '@0', '@7', 'nope:2', nastyText(rng, 2)]) } : {}) }),
      run,
      describe: (i) => `${i.tar.length} bytes, ref ${String(i.ref)}; regenerate it with the case seed`,
    });
    if (!isReplay()) expect(report.ok).toBeGreaterThan(50);
    if (!isReplay()) expect(report.errors['ARCHIVE_INVALID'] ?? 0).toBeGreaterThan(0);
  }, 300_000);

  it('layer tars (hostile entries, corrupted and fixed-up headers, random chunking) end in a listing or an ImgtoolError', async () => {
    const report = await fuzz<{ chunks: Buffer[]; gz: boolean }>({
      name: 'layer-tar',
      seed: 0x7a4,
      cases: 2000,
      generate: (rng, ctx) => {
        let tar = buildTar(layerEntries(rng, ctx.marker), { end: rng.chance(0.8) });
        for (let k = rng.int(4); k > 0; k--) {
          const blocks = Math.floor(tar.length / 512);
          const r = rng.int(4);
          if (r === 0) tar = tar.subarray(0, rng.int(tar.length + 1));
          else if (r === 1 && blocks > 0) {
            const at = rng.int(blocks) * 512;
            const h = Buffer.from(tar.subarray(at, at + 512));
            for (let i = rng.range(1, 8); i > 0; i--) h[rng.pick([rng.int(512), 124 + rng.int(12), 156, 345 + rng.int(10)])] = rng.int(256);
            if (rng.chance(0.8)) fixChecksum(h);
            tar = Buffer.concat([tar.subarray(0, at), h, tar.subarray(at + 512)]);
          } else if (r === 2) tar = Buffer.concat([tar, rng.bytes(rng.range(1, 1500))]);
        }
        const gz = rng.chance(0.2);
        const data = gz ? gzipSync(tar).subarray(0, rng.chance(0.3) ? rng.int(200) : undefined) : tar;
        const chunks: Buffer[] = [];
        for (let i = 0; i < data.length; ) {
          const n = rng.range(1, 2048);
          chunks.push(data.subarray(i, i + n));
          i += n;
        }
        return { chunks, gz };
      },
      run: async ({ chunks, gz }, ctx) => {
        const { Readable } = await import('node:stream');
        const { decompressed } = await import('../../../src/layers/index.js');
        const source = gz ? await decompressed(Readable.from(chunks), 'auto', 'fuzz layer') : Readable.from(chunks);
        return scanLayer(source, { what: 'fuzz layer', signal: ctx.signal });
      },
      describe: (i) => `${i.chunks.reduce((a, c) => a + c.length, 0)} bytes in ${i.chunks.length} chunks, gzip ${i.gz}`,
    });
    if (!isReplay()) expect(report.errors['LAYER_INVALID'] ?? 0).toBeGreaterThan(0);
    if (!isReplay()) expect(report.ok).toBeGreaterThan(100);
  }, 300_000);

  // Minimised from FUZZ_SEED=42177 (cases 149, 221/289/384, 322): direct push's spooler let
  // TypeErrors and tar's ZlibError escape instead of reporting a bad archive.
  const spool = async (tar: Buffer, select?: string): Promise<unknown> => {
    const { Readable } = await import('node:stream');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const tmpDir = mkdtempSync(join(tmpdir(), 'imgtool-spool-regression-'));
    try {
      const img = await spoolSaveTar(Readable.from([tar]), { tmpDir, source: 'docker-archive:x.tar', ...(select === undefined ? {} : { select }) });
      await img.cleanup();
      return img;
    } catch (err) {
      return err;
    } finally {
      rmSync(tmpDir, { recursive: true, force: true });
    }
  };

  it('regression: spoolSaveTar reports non-string Layers in manifest.json as ARCHIVE_INVALID (was TypeError)', async () => {
    const err = await spool(buildTar([{ path: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: null, Layers: [1, {}] }]) }]));
    expect(isImgtoolError(err, 'ARCHIVE_INVALID'), String(err)).toBe(true);
  });

  it('regression: spoolSaveTar reports a null manifest entry as ARCHIVE_INVALID (was TypeError reading RepoTags)', async () => {
    const err = await spool(buildTar([{ path: 'manifest.json', content: '[null, {"Config":"c.json","Layers":[]}]' }]), 'nope:2');
    expect(isImgtoolError(err, 'ARCHIVE_INVALID'), String(err)).toBe(true);
  });

  it('regression: spoolSaveTar reports a corrupt gzip save tar as ARCHIVE_INVALID (was ZlibError)', async () => {
    const gz = gzipSync(buildTar([{ path: 'manifest.json', content: '[]' }, { path: 'x/layer.tar', content: Buffer.alloc(5000, 1) }]));
    for (let i = 12; i < gz.length - 8; i += 7) gz[i] = (gz[i] as number) ^ 0x5a;
    const err = await spool(gz);
    expect(isImgtoolError(err, 'ARCHIVE_INVALID'), String(err)).toBe(true);
  });
});

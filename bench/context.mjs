#!/usr/bin/env node
/**
 * Context streaming benchmark: generates a ~1 GiB / 50 000-file tree, then streams it as a
 * build context tar to a null sink with imgtool (dist/, run `npx tsc -p .` first) and with
 * GNU tar (`tar -cf - DIR | wc -c`, the streaming floor), on the same warm page cache.
 * Reports throughput, the ratio imgtool/tar, and imgtool's peak RSS (from /usr/bin/time -v of
 * a child process that only streams). Usage:
 *   node bench/context.mjs [--files 50000] [--mib 1024] [--runs 3] [--keep DIR]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};

const root = dirname(dirname(fileURLToPath(import.meta.url)));

// The child mode: stream the context of DIR to a null sink and print what it measured.
if (args[0] === '--child') {
  const dir = args[1];
  const { PatternMatcher } = await import(join(root, 'dist/build/dockerignore/matcher.js'));
  const { listContext } = await import(join(root, 'dist/build/context/walk.js'));
  const { contextTar } = await import(join(root, 'dist/build/context/tar.js'));
  const { Writable } = await import('node:stream');
  const { pipeline } = await import('node:stream/promises');
  const { Readable } = await import('node:stream');
  const t0 = process.hrtime.bigint();
  const entries = await listContext({ contextDir: dir, matcher: new PatternMatcher([]) });
  const t1 = process.hrtime.bigint();
  const { stream, stats } = contextTar({ contextDir: dir, entries });
  await pipeline(Readable.from(stream, { objectMode: false }), new Writable({ write: (_c, _e, cb) => cb() }));
  const t2 = process.hrtime.bigint();
  process.stdout.write(
    JSON.stringify({
      bytes: stats.bytes,
      entries: stats.entries,
      walkMs: Number(t1 - t0) / 1e6,
      totalMs: Number(t2 - t0) / 1e6,
      maxRssKiB: process.resourceUsage().maxRSS,
    }),
  );
  process.exit(0);
}

const files = Number(opt('files', '50000'));
const mib = Number(opt('mib', '1024'));
const runs = Number(opt('runs', '3'));
const keep = opt('keep', undefined);

if (!existsSync(join(root, 'dist/build/context/tar.js'))) {
  console.error('dist/ is missing: run `npx tsc -p .` first');
  process.exit(2);
}

/** Generates the tree: 100 files per directory; 0.1% of the files are large and hold ~25% of the bytes. */
function generate(dir) {
  const total = mib * 1024 * 1024;
  const large = Math.max(1, Math.floor(files / 1000));
  const small = files - large;
  const largeSize = Math.floor((total * 0.25) / large);
  const smallSize = Math.floor((total * 0.75) / small);
  const block = Buffer.alloc(Math.max(largeSize, smallSize));
  let seed = 42;
  for (let i = 0; i < block.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    block[i] = seed >>> 16;
  }
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const d = join(dir, `d${String(Math.floor(i / 100)).padStart(4, '0')}`);
    if (i % 100 === 0) mkdirSync(d, { recursive: true });
    const size = i < large ? largeSize : smallSize;
    // Vary the first bytes so files differ.
    block.writeUInt32LE(i, 0);
    writeFileSync(join(d, `f${i}.bin`), block.subarray(0, size));
    bytes += size;
  }
  return bytes;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const dir = keep ?? mkdtempSync(join(tmpdir(), 'imgtool-bench-ctx-'));
let generated = 0;
if (!keep || !existsSync(join(dir, 'd0000'))) {
  mkdirSync(dir, { recursive: true });
  const g0 = Date.now();
  generated = generate(dir);
  console.error(`generated ${files} files, ${(generated / 2 ** 20).toFixed(0)} MiB in ${((Date.now() - g0) / 1000).toFixed(1)} s under ${dir}`);
}
// Warm the page cache once so both tools read from memory.
execFileSync('sh', ['-c', `tar -cf - -C "${dir}" . | wc -c`], { stdio: ['ignore', 'ignore', 'inherit'] });

const tarMs = [];
let tarBytes = 0;
for (let r = 0; r < runs; r++) {
  const t0 = process.hrtime.bigint();
  const out = execFileSync('sh', ['-c', `tar -cf - -C "${dir}" . | wc -c`], { encoding: 'utf8' });
  tarMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  tarBytes = Number(out.trim());
}

const ours = [];
for (let r = 0; r < runs; r++) {
  const t0 = process.hrtime.bigint();
  const p = spawnSync('/usr/bin/time', ['-v', process.execPath, fileURLToPath(import.meta.url), '--child', dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (p.status !== 0) {
    console.error(p.stderr);
    process.exit(1);
  }
  const m = JSON.parse(p.stdout);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(p.stderr);
  ours.push({ ...m, wallMs, timeMaxRssKiB: rss ? Number(rss[1]) : undefined });
}

const ourMs = median(ours.map((o) => o.wallMs));
const tarMedian = median(tarMs);
const peakRssMiB = Math.max(...ours.map((o) => (o.timeMaxRssKiB ?? o.maxRssKiB) / 1024));
const result = {
  tree: { files, bytes: generated || undefined, dir },
  gnuTar: { bytes: tarBytes, medianMs: tarMedian, MiBps: tarBytes / 2 ** 20 / (tarMedian / 1000) },
  imgtool: {
    bytes: ours[0].bytes,
    entries: ours[0].entries,
    medianWallMs: ourMs,
    medianWalkMs: median(ours.map((o) => o.walkMs)),
    MiBps: ours[0].bytes / 2 ** 20 / (ourMs / 1000),
    peakRssMiB,
  },
  throughputRatioVsTar: tarMedian / ourMs,
  runs,
  node: process.version,
};
console.log(JSON.stringify(result, null, 2));
if (!keep) rmSync(dir, { recursive: true, force: true });

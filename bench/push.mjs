#!/usr/bin/env node
/**
 * Push benchmark (issue 5). Starts its own private dockerd, builds a ~BENCH_PUSH_MB (default
 * 200) MB image of 5 layers (busybox rootfs, 2 random and 2 text layers), and for each tool
 * pushes it to a *fresh* local registry (first push), then pushes it again (re-push):
 *   imgtool push (through the engine), imgtool push --direct, docker push, and
 *   skopeo copy docker-daemon:… docker://….
 * A fresh registry per tool and run keeps the tools' own caches (docker's v2 metadata,
 * skopeo's blob-info cache) from turning a first push into a mount. Median of BENCH_RUNS.
 * imgtool keeps its blob-location cache under a private XDG_CACHE_HOME for the whole benchmark
 * (it persists across runs, like docker's own metadata does). "pushed MB" is what the registry
 * stores after the first push (blob bytes), so compression choices show next to the times.
 * Usage: npm run build && node bench/push.mjs   (as root, like the test world)
 *   BENCH_TOOLS=direct,docker   only the tools whose name contains one of these words
 *   BENCH_DIRECT_ARGS="--compression-level 6"   extra arguments for imgtool push --direct
 *   BENCH_BEFORE_CLI=/path/to/other/dist/cli/main.js   adds "imgtool push --direct (before)"
 *     with another build, measured in the same runs (for before/after under the same load)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerOn, freePort, median } from './lib.mjs';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist/cli/main.js');
const MB = Number(process.env.BENCH_PUSH_MB ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const dir = mkdtempSync('/tmp/ipb-');
const sock = join(dir, 'd.sock');
const host = `unix://${sock}`;
const children = [];
const registries = [];

function docker(args, opts = {}) {
  return dockerOn(host, args, opts);
}

function timeIt(cmd, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28, timeout: 600_000 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return ms;
}


/** A fresh registry (own storage, own port). */
async function freshRegistry(name) {
  const port = await freePort();
  const addr = `127.0.0.1:${port}`;
  const rdir = join(dir, `reg-${name}`);
  mkdirSync(rdir, { recursive: true });
  writeFileSync(join(rdir, 'reg.yml'), `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(rdir, 'data')}\nhttp:\n  addr: ${addr}\n`);
  const child = spawn('docker-registry', ['serve', join(rdir, 'reg.yml')], { stdio: 'ignore' });
  registries.push(child);
  for (let i = 0; i < 100; i++) {
    const ok = await fetch(`http://${addr}/v2/`).then((r) => r.status === 200, () => false);
    if (ok) break;
    await sleep(100);
  }
  return {
    addr,
    blobBytes: () => duBytes(join(rdir, 'data', 'docker', 'registry', 'v2', 'blobs')),
    stop: async () => {
      child.kill('SIGTERM');
      await sleep(200);
      rmSync(rdir, { recursive: true, force: true });
    },
  };
}

const DIRECT_ARGS = (process.env.BENCH_DIRECT_ARGS ?? '').split(/\s+/).filter(Boolean);
const ALL_TOOLS = {
  'imgtool push (engine)': (ref) => ['node', [CLI, '-H', host, 'push', '-q', ref]],
  'imgtool push --direct': (ref) => ['node', [CLI, '-H', host, 'push', '-q', '--direct', ...DIRECT_ARGS, ref]],
  ...(process.env.BENCH_BEFORE_CLI ? { 'imgtool push --direct (before)': (ref) => ['node', [process.env.BENCH_BEFORE_CLI, '-H', host, 'push', '-q', '--direct', ref]] } : {}),
  'docker push': (ref) => ['/usr/local/bin/docker', ['-H', host, 'push', '-q', ref]],
  'skopeo copy': (ref) => ['skopeo', ['copy', '--quiet', '--src-daemon-host', host, '--dest-tls-verify=false', 'docker-daemon:bench/push:1', `docker://${ref}`]],
};
const only = (process.env.BENCH_TOOLS ?? '').split(',').map((w) => w.trim()).filter(Boolean);
// docker push is the reference for the ratios, so it always runs.
const TOOLS = Object.fromEntries(Object.entries(ALL_TOOLS).filter(([name]) => name === 'docker push' || only.length === 0 || only.some((w) => name.includes(w))));

/** Bytes under `dir` (the registry's blob store). */
function duBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += duBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

async function main() {
  children.push(
    spawn('/usr/sbin/dockerd', ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'pid'), '-H', host, '--iptables=false', '--ip-masq=false', '--bridge=none'], { stdio: 'ignore' }),
  );
  for (let i = 0; i < 120; i++) {
    try {
      docker(['version'], { stdio: 'pipe' });
      break;
    } catch {
      await sleep(500);
    }
  }
  // 5 layers: a busybox rootfs, then 2 random (incompressible) and 2 text (compressible) layers.
  const ctx = join(dir, 'ctx');
  mkdirSync(join(ctx, 'rootfs/bin'), { recursive: true });
  copyFileSync('/bin/busybox', join(ctx, 'rootfs/bin/busybox'));
  symlinkSync('busybox', join(ctx, 'rootfs/bin/sh'));
  const per = Math.max(1, Math.floor(MB / 4));
  writeFileSync(join(ctx, 'Dockerfile'), [
    'FROM scratch',
    'COPY rootfs/ /',
    `RUN /bin/busybox dd if=/dev/urandom of=/r0 bs=1048576 count=${per} 2>/dev/null`,
    `RUN /bin/busybox dd if=/dev/urandom of=/r1 bs=1048576 count=${per} 2>/dev/null`,
    `RUN /bin/busybox yes "imgtool push benchmark text line 0" | /bin/busybox head -c ${per * 1048576} > /t0`,
    `RUN /bin/busybox yes "imgtool push benchmark text line 1 $(/bin/busybox date)" | /bin/busybox head -c ${per * 1048576} > /t1`,
    '',
  ].join('\n'));
  console.error('building the benchmark image');
  docker(['build', '-q', '-t', 'bench/push:1', ctx]);
  console.error('built');
  const layers = JSON.parse(docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'bench/push:1']));
  const sizeMB = Number(docker(['image', 'inspect', '--format', '{{.Size}}', 'bench/push:1'])) / 1e6;

  // Warm the page cache so the first tool measured does not pay for reading the layers from disk.
  spawnSync('/usr/local/bin/docker', ['-H', host, 'save', 'bench/push:1'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const times = Object.fromEntries(Object.keys(TOOLS).map((t) => [t, { first: [], again: [], pushed: 0 }]));
  // imgtool's blob-location cache: private to this benchmark, kept across its runs.
  const benchEnv = { XDG_CACHE_HOME: join(dir, 'xdg-cache') };
  for (let run = 0; run < RUNS; run++) {
    for (const [tool, make] of Object.entries(TOOLS)) {
      const reg = await freshRegistry(`${run}-${tool.replace(/\W+/g, '-')}`);
      const ref = `${reg.addr}/bench/push:1`;
      docker(['tag', 'bench/push:1', ref]);
      const [cmd, args] = make(ref);
      times[tool].first.push(timeIt(cmd, args, benchEnv));
      times[tool].pushed = reg.blobBytes();
      times[tool].again.push(timeIt(cmd, args, benchEnv));
      console.error(`run ${run + 1}/${RUNS} ${tool}: first ${Math.round(times[tool].first.at(-1))} ms, re-push ${Math.round(times[tool].again.at(-1))} ms`);
      docker(['rmi', ref], { stdio: 'pipe' });
      await reg.stop();
    }
  }
  const docker1 = median(times['docker push'].first);
  const docker2 = median(times['docker push'].again);
  const rows = Object.entries(times).map(([tool, t]) => ({
    tool,
    firstMs: Math.round(median(t.first)),
    repushMs: Math.round(median(t.again)),
    pushedMB: +(t.pushed / 1e6).toFixed(1),
    firstVsDocker: +(median(t.first) / docker1).toFixed(2),
    repushVsDocker: +(median(t.again) / docker2).toFixed(2),
  }));
  console.log(JSON.stringify({
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    image: { layers: layers.length, sizeMB: +sizeMB.toFixed(1) },
    runs: RUNS,
    results: rows,
  }, null, 2));
}

try {
  await main();
} finally {
  for (const c of [...registries, ...children].reverse()) c.kill('SIGTERM');
  await sleep(3000);
  spawnSync('umount', ['-R', join(dir, 'exec')], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

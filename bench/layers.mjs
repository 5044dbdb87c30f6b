#!/usr/bin/env node
/**
 * Layer inspector benchmark (issue 4). Starts its own private dockerd and registry, builds an
 * image of about BENCH_LAYERS_MB (default 512) MB of layer data, then measures:
 *  1. remote history: `imgtool history docker://…` vs `skopeo inspect --config` + `skopeo inspect`
 *     (both read the manifest and config only; median of BENCH_RUNS runs);
 *  2. file-level inspect throughput on the same image as an OCI layout on disk (gzip layers):
 *     uncompressed MB/s of `imgtool inspect oci:…` vs `gzip -dc` of the same layer blobs
 *     (the streaming floor), plus peak RSS (GNU time); also from docker-archive (raw layers),
 *     from the registry (docker://) and from the engine (docker-daemon:).
 * Usage: npm run build && node bench/layers.mjs   (root, like the test world: it starts dockerd)
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerOn, freePort, median } from './lib.mjs';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist/cli/main.js');
const MB = Number(process.env.BENCH_LAYERS_MB ?? 512);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const dir = mkdtempSync('/tmp/ilb-');
const sock = join(dir, 'd.sock');
const host = `unix://${sock}`;
const children = [];

function docker(args, opts = {}) {
  return dockerOn(host, args, opts);
}

function timeIt(cmd, args, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  const rssKb = Number(r.stderr.trim().split('\n').at(-1));
  return { ms, rssMb: rssKb / 1024, stdout: r.stdout };
}


async function main() {
  // Private daemon and registry, like the test world.
  children.push(
    spawn('/usr/sbin/dockerd', ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '--pidfile', join(dir, 'pid'), '-H', host, '--iptables=false', '--ip-masq=false', '--bridge=none'], { stdio: 'ignore' }),
  );
  const port = await freePort();
  const reg = `127.0.0.1:${port}`;
  writeFileSync(join(dir, 'reg.yml'), `version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'reg')}\nhttp:\n  addr: ${reg}\n`);
  children.push(spawn('docker-registry', ['serve', join(dir, 'reg.yml')], { stdio: 'ignore' }));
  for (let i = 0; i < 120; i++) {
    try {
      docker(['version'], { stdio: 'pipe' });
      break;
    } catch {
      await sleep(500);
    }
  }
  // Base image (busybox-static) and a ~MB image: random (incompressible) and text (compressible)
  // data in several layers, many small files, and a deleted file so wasted space is non-zero.
  const ctx = join(dir, 'ctx');
  mkdirSync(ctx);
  copyFileSync('/bin/busybox', join(ctx, 'busybox'));
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "mkdir", "-p", "/usr/bin", "/sbin", "/usr/sbin", "/tmp", "/etc"]\nRUN ["/bin/busybox", "--install", "-s"]\n');
  docker(['build', '-q', '-t', 'bench/base:1', ctx]);
  const per = Math.max(1, Math.floor(MB / 8));
  const steps = [];
  for (let i = 0; i < 4; i++) steps.push(`RUN mkdir -p /r${i} && dd if=/dev/urandom of=/r${i}/blob bs=1M count=${per} 2>/dev/null`);
  for (let i = 0; i < 3; i++) steps.push(`RUN mkdir -p /t${i} && yes "imgtool layer benchmark line $i with some text to compress" | head -c ${per * 1024 * 1024} > /t${i}/text`);
  steps.push('RUN mkdir -p /small && i=0; while [ $i -lt 20000 ]; do echo $i > /small/f$i; i=$((i+1)); done');
  steps.push(`RUN dd if=/dev/urandom of=/tmp/scratch bs=1M count=${per} 2>/dev/null`);
  steps.push('RUN rm /tmp/scratch');
  const bctx = join(dir, 'bctx');
  mkdirSync(bctx);
  writeFileSync(join(bctx, 'Dockerfile'), `FROM bench/base:1\n${steps.join('\n')}\n`);
  docker(['build', '-q', '-t', 'bench/big:1', bctx]);
  const ref = `${reg}/bench/big:1`;
  docker(['tag', 'bench/big:1', ref]);
  docker(['push', ref], { stdio: 'pipe' });
  docker(['rmi', ref]);
  const archive = join(dir, 'big.tar');
  docker(['save', '-o', archive, 'bench/big:1']);
  const oci = join(dir, 'oci');
  execFileSync('skopeo', ['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${oci}:v1`], { stdio: 'pipe' });

  // 1. Remote history vs skopeo.
  const imgHist = [];
  const skopeo = [];
  for (let i = 0; i < RUNS; i++) {
    imgHist.push(timeIt('node', [CLI, 'history', '--json', `docker://${ref}`]).ms);
    const a = timeIt('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${ref}`]).ms;
    const b = timeIt('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`]).ms;
    skopeo.push(a + b);
  }

  // 2. Inspect throughput.
  const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8'));
  const manifest = JSON.parse(readFileSync(join(oci, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  const blobs = manifest.layers.map((l) => join(oci, 'blobs/sha256', l.digest.slice(7)));
  const compressed = blobs.reduce((a, b) => a + statSync(b).size, 0);
  const report = JSON.parse(timeIt('node', [CLI, 'inspect', '--json', `oci:${oci}:v1`]).stdout);
  const tarMB = report.tarBytes / 1e6;
  const gz = [];
  const insOci = [];
  const insArchive = [];
  const insRemote = [];
  const insDaemon = [];
  const n = Math.max(3, Math.floor(RUNS / 2));
  for (let i = 0; i < n; i++) {
    gz.push(timeIt('sh', ['-c', `for f in ${blobs.join(' ')}; do gzip -dc "$f"; done > /dev/null`]));
    insOci.push(timeIt('node', [CLI, 'inspect', '--json', `oci:${oci}:v1`]));
    insArchive.push(timeIt('node', [CLI, 'inspect', '--json', `docker-archive:${archive}`]));
    insRemote.push(timeIt('node', [CLI, 'inspect', '--json', `docker://${ref}`]));
    insDaemon.push(timeIt('node', [CLI, '-H', host, 'inspect', '--json', 'docker-daemon:bench/big:1']));
  }
  const rate = (runs) => tarMB / (median(runs.map((r) => r.ms)) / 1000);
  const peak = (runs) => Math.max(...runs.map((r) => r.rssMb));
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    image: { layers: manifest.layers.length, uncompressedTarMB: +tarMB.toFixed(1), compressedMB: +(compressed / 1e6).toFixed(1), totalBytes: report.totalBytes, wastedBytes: report.wastedBytes, files: report.finalFiles },
    remoteHistory: { imgtoolMs: +median(imgHist).toFixed(0), skopeoConfigPlusInspectMs: +median(skopeo).toFixed(0), ratio: +(median(skopeo) / median(imgHist)).toFixed(2) },
    inspect: {
      gzipDcMBps: +rate(gz).toFixed(1),
      ociMBps: +rate(insOci).toFixed(1),
      ociVsGzip: +(rate(insOci) / rate(gz)).toFixed(2),
      ociPeakRssMB: +peak(insOci).toFixed(0),
      archiveMBps: +rate(insArchive).toFixed(1),
      archivePeakRssMB: +peak(insArchive).toFixed(0),
      registryMBps: +rate(insRemote).toFixed(1),
      registryPeakRssMB: +peak(insRemote).toFixed(0),
      daemonMBps: +rate(insDaemon).toFixed(1),
      daemonPeakRssMB: +peak(insDaemon).toFixed(0),
    },
  };
  console.log(JSON.stringify(result, null, 2));
}

try {
  await main();
} finally {
  for (const c of children.reverse()) c.kill('SIGTERM');
  await sleep(3000);
  spawnSync('umount', ['-R', join(dir, 'exec')], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

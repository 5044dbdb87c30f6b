/**
 * Helpers for the fault-proxy push tests (issue 7, "Faults"): a multi-layer image of random
 * bytes built on the private dockerd, a walk of a registry's storage that finds manifests
 * naming blobs the registry does not hold, and `docker pull` on a daemon that never had the
 * image, to compare what the registry serves with the source.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerCliAsync, type DockerCliResult } from '../../world/base-image.js';
import type { FaultCounters, FaultEvent, FaultKind } from '../../world/fault-proxy.js';
import { FAULT_KINDS } from '../../world/fault-proxy.js';
import { world } from '../../world/world.js';
import { runInProcess } from '../../world/in-process.js';

/** A unique lowercase suffix for tags and repositories. */
export function uniqName(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** What {@link buildLayeredImage} made. */
export interface LayeredImage {
  /** Local tag in the private dockerd. */
  readonly tag: string;
  /** `sha256:…` image ID (the config digest). */
  readonly id: string;
  /** diff IDs of all layers (base included). */
  readonly layers: readonly string[];
}

/**
 * Builds `tag` FROM the world's base image plus one COPY layer per entry of `sizes` (bytes of
 * fresh random data each, so every run pushes content the registry has never seen).
 */
export async function buildLayeredImage(tag: string, sizes: readonly number[]): Promise<LayeredImage> {
  const w = world();
  const dir = mkdtempSync(join(w.tmp, 'faults-img-'));
  const lines = [`FROM ${w.baseImage}`];
  sizes.forEach((size, i) => {
    writeFileSync(join(dir, `blob${i}`), randomBytes(size));
    lines.push(`COPY blob${i} /data/blob${i}`);
  });
  lines.push('CMD ["ls", "-l", "/data"]', '');
  writeFileSync(join(dir, 'Dockerfile'), lines.join('\n'));
  must(await dockerCliAsync(w.docker.host, ['build', '-q', '-t', tag, dir]), `docker build ${tag}`);
  const inspect = must(await dockerCliAsync(w.docker.host, ['image', 'inspect', '--format', '{{.Id}} {{json .RootFS.Layers}}', tag]), `inspect ${tag}`);
  const [id, layers] = inspect.stdout.trim().split(' ', 2);
  return { tag, id: id ?? '', layers: JSON.parse(layers ?? '[]') as string[] };
}

/** Throws with the CLI's output when it failed. */
export function must(r: DockerCliResult, what: string): DockerCliResult {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}): ${r.stderr}`);
  return r;
}

const V2 = 'docker/registry/v2';

/** Path of a blob's content in a distribution filesystem store. */
export function blobDataPath(dataDir: string, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(dataDir, V2, 'blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/** One manifest (by tag) whose references are not all in the store. */
export interface DanglingManifest {
  readonly repository: string;
  readonly tag: string;
  readonly manifest: string;
  /** Digests named by the manifest that the registry lacks (blob data, or the repository's link to it). */
  readonly missing: readonly string[];
}

/** Repositories under a registry store (directories that hold `_manifests`), optionally under a prefix. */
export function storedRepositories(dataDir: string, prefix = ''): string[] {
  const root = join(dataDir, V2, 'repositories');
  const out: string[] = [];
  const walk = (rel: string): void => {
    const abs = join(root, rel);
    if (!existsSync(abs)) return;
    for (const entry of readdirSync(abs)) {
      if (entry.startsWith('_')) {
        if (entry === '_manifests') out.push(rel);
        continue;
      }
      if (statSync(join(abs, entry)).isDirectory()) walk(rel === '' ? entry : `${rel}/${entry}`);
    }
  };
  walk(prefix);
  return out;
}

/** The tags of `repository` in the store, with the manifest digest each points at. */
export function storedTags(dataDir: string, repository: string): Map<string, string> {
  const dir = join(dataDir, V2, 'repositories', repository, '_manifests/tags');
  const tags = new Map<string, string>();
  if (!existsSync(dir)) return tags;
  for (const tag of readdirSync(dir)) {
    const link = join(dir, tag, 'current/link');
    if (existsSync(link)) tags.set(tag, readFileSync(link, 'utf8').trim());
  }
  return tags;
}

/**
 * Walks every tag of every repository under `prefix` in a registry's filesystem store:
 * `repositories/<repo>/_manifests/tags/<tag>/current/link` → the manifest blob → its config
 * and layer digests, each of which must exist as `blobs/sha256/xx/<hex>/data` and be linked
 * into the repository (`_layers/sha256/<hex>/link`, which is what a pull resolves through).
 * Returns the manifests that break this, and how many tags were checked.
 */
export function danglingManifests(dataDir: string, prefix = ''): { checked: number; dangling: DanglingManifest[] } {
  const dangling: DanglingManifest[] = [];
  let checked = 0;
  for (const repository of storedRepositories(dataDir, prefix)) {
    for (const [tag, manifest] of storedTags(dataDir, repository)) {
      checked++;
      const path = blobDataPath(dataDir, manifest);
      if (!existsSync(path)) {
        dangling.push({ repository, tag, manifest, missing: [manifest] });
        continue;
      }
      const doc = JSON.parse(readFileSync(path, 'utf8')) as { config?: { digest: string }; layers?: Array<{ digest: string }>; manifests?: Array<{ digest: string }> };
      const refs = [...(doc.config ? [doc.config.digest] : []), ...(doc.layers ?? []).map((l) => l.digest)];
      const missing = refs.filter((d) => {
        const hex = d.replace(/^sha256:/, '');
        return !existsSync(blobDataPath(dataDir, d)) || !existsSync(join(dataDir, V2, 'repositories', repository, '_layers/sha256', hex, 'link'));
      });
      if (missing.length > 0 || refs.length === 0) dangling.push({ repository, tag, manifest, missing });
    }
  }
  return { checked, dangling };
}

/** A docker CLI environment for the TLS daemon (which never built the test images) with its own config dir. */
export function pullerEnv(): Record<string, string> {
  const w = world();
  const cfg = mkdtempSync(join(w.tmp, 'faults-dcfg-'));
  mkdirSync(cfg, { recursive: true });
  return { DOCKER_CERT_PATH: w.dockerTls.certPath, DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: cfg };
}

/** What `docker pull` on the TLS daemon gave for a reference. */
export interface Pulled {
  readonly id: string;
  readonly repoDigests: readonly string[];
}

/** `docker pull` on the TLS daemon, then its image ID and RepoDigests; removes the tag afterwards. */
export async function dockerPull(ref: string, env: Record<string, string>): Promise<Pulled> {
  const host = world().dockerTls.host;
  must(await dockerCliAsync(host, ['pull', '-q', ref], undefined, env), `docker pull ${ref}`);
  const r = must(await dockerCliAsync(host, ['image', 'inspect', '--format', '{{.Id}} {{json .RepoDigests}}', ref], undefined, env), `inspect ${ref}`);
  const [id, digests] = r.stdout.trim().split(' ', 2);
  await dockerCliAsync(host, ['rmi', ref], undefined, env);
  return { id: id ?? '', repoDigests: JSON.parse(digests ?? '[]') as string[] };
}

/** Random faults injected, by kind (413 apart). */
export function faultsByKind(c: Readonly<FaultCounters>): Record<FaultKind, number> {
  return Object.fromEntries(FAULT_KINDS.map((k) => [k, c[k]])) as Record<FaultKind, number>;
}

/** Adds counters into a running total. */
export function addCounters(total: FaultCounters, c: Readonly<FaultCounters>): void {
  for (const k of Object.keys(total) as Array<keyof FaultCounters>) total[k] += c[k];
}

/** What an in-process `imgtool` run printed. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs imgtool in-process (`run()` from src/cli/program.ts) with captured, non-TTY streams. */
export function imgtoolInProcess(argv: string[], env: Record<string, string>): Promise<CliRun> {
  return runInProcess(argv, { label: 'faults-helpers', env, cwd: world().tmp });
}

/** A DOCKER_CONFIG dir for imgtool, optionally with Basic credentials for `host` in config.json. */
export function imgtoolEnv(login?: { host: string; username: string; password: string }): Record<string, string> {
  const w = world();
  const cfg = mkdtempSync(join(w.tmp, 'faults-icfg-'));
  if (login) {
    const auth = Buffer.from(`${login.username}:${login.password}`).toString('base64');
    writeFileSync(join(cfg, 'config.json'), JSON.stringify({ auths: { [login.host]: { auth } } }), { mode: 0o600 });
  }
  return { DOCKER_HOST: w.docker.host, DOCKER_CONFIG: cfg, HOME: cfg, PATH: process.env['PATH'] ?? '/usr/bin:/bin', NO_COLOR: '1' };
}

/**
 * The most requests any one URL got (method + path with query) among `events`, leaving out
 * `POST …/blobs/uploads/` (every blob of a repository starts its upload there). A retry loop
 * that never gives up shows here as one URL hit over and over.
 */
export function maxHitsPerUrl(events: readonly FaultEvent[]): { url: string; hits: number } {
  const hits = new Map<string, number>();
  for (const e of events) {
    if (e.method === 'POST' && e.path.endsWith('/blobs/uploads/')) continue;
    const key = `${e.method} ${e.path}`;
    hits.set(key, (hits.get(key) ?? 0) + 1);
  }
  let best = { url: '', hits: 0 };
  for (const [url, n] of hits) if (n > best.hits) best = { url, hits: n };
  return best;
}

/** How many times `POST …/blobs/uploads/` (upload starts, not mounts) was sent. */
export function uploadStarts(events: readonly FaultEvent[]): number {
  return events.filter((e) => e.method === 'POST' && e.path.endsWith('/blobs/uploads/')).length;
}

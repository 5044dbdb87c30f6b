/**
 * The context imgtool sends, compared with the docker CLI 28's: the full context must be the
 * same tar entries (names, order, types, modes, owners, mtimes, links, contents); the minimal
 * context must be a small fraction of it on a repository with node_modules/.git, and must
 * build the same image.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { beforeAll, describe, expect, it } from 'vitest';
import { DOCKER_CLI, dockerCliAsync } from '../../world/base-image.js';
import { world } from '../../world/world.js';
import { fixture, imgtool, startStandInEngine } from './helpers.js';

interface Item {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  mtime: number;
  linkpath: string;
  sha: string;
}

async function entries(tar: Buffer, opts: { skipDirMtime?: boolean } = {}): Promise<Item[]> {
  const out: Item[] = [];
  const parser = new Parser();
  const done = new Promise<void>((res, rej) => {
    parser.on('end', () => res());
    parser.on('error', rej);
  });
  parser.on('entry', (e: ReadEntry) => {
    const hash = createHash('sha256');
    e.on('data', (d: Buffer) => hash.update(d));
    e.on('end', () =>
      out.push({
        path: e.path.replace(/^\.\//, ''),
        type: e.type,
        mode: e.mode ?? -1,
        uid: e.uid ?? -1,
        gid: e.gid ?? -1,
        uname: e.uname ?? '',
        gname: e.gname ?? '',
        size: e.size ?? 0,
        mtime: opts.skipDirMtime && e.type === 'Directory' ? 0 : Math.floor((e.mtime?.getTime() ?? 0) / 1000),
        linkpath: e.linkpath ?? '',
        sha: hash.digest('hex'),
      }),
    );
  });
  parser.end(tar);
  await done;
  return out;
}

/** A repository as CI checks it out: sources, a big node_modules and .git that the Dockerfile never copies. */
function repoFixture(): string {
  const w = world();
  const files: Record<string, string | Buffer> = {
    'Dockerfile': `FROM ${w.baseImage}\nWORKDIR /app\nCOPY package.json ./\nCOPY src/ ./src/\nCOPY config/*.json ./config/\nCMD ["sh"]\n`,
    '.dockerignore': '*.log\n!keep.log\n',
    'package.json': '{"name":"app","version":"1.0.0"}\n',
    'src/index.js': 'console.log("hi")\n',
    'src/lib/util.js': 'module.exports = 1\n',
    'config/app.json': '{"a":1}\n',
    'config/notes.txt': 'not copied\n',
    'debug.log': 'ignored\n',
    'keep.log': 'kept\n',
    'README.md': '# app\n',
  };
  let seed = 1;
  const noise = (n: number): Buffer => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      b[i] = seed & 0xff;
    }
    return b;
  };
  for (let p = 0; p < 60; p++) {
    for (let f = 0; f < 25; f++) files[`node_modules/pkg${p}/lib/file${f}.js`] = noise(12 * 1024);
    files[`node_modules/pkg${p}/package.json`] = `{"name":"pkg${p}"}\n`;
  }
  for (let i = 0; i < 30; i++) files[`.git/objects/${String(i).padStart(2, '0')}/obj`] = noise(128 * 1024);
  files['.git/HEAD'] = 'ref: refs/heads/main\n';
  const dir = fixture(files);
  // Things the tar must carry faithfully: an executable, a setgid directory, symlinks, a hard link.
  chmodSync(join(dir, 'src/index.js'), 0o755);
  mkdirSync(join(dir, 'shared'));
  chmodSync(join(dir, 'shared'), 0o2775);
  symlinkSync('../package.json', join(dir, 'src/pkg-link.json'));
  symlinkSync('/etc/passwd', join(dir, 'abs-link'));
  linkSync(join(dir, 'README.md'), join(dir, 'shared/README-hardlink.md'));
  writeFileSync(join(dir, 'long-'.repeat(30) + 'name.txt'), 'long name\n');
  return dir;
}

describe('build context compared with the docker CLI', () => {
  let repo: string;
  let cliTar: Buffer;
  beforeAll(async () => {
    repo = repoFixture();
    // What the docker CLI 28 (classic builder) posts, captured by a stand-in engine.
    const standIn = await startStandInEngine({ keepBodies: true });
    try {
      const r = await dockerCliAsync(standIn.host, ['build', repo], undefined, { DOCKER_BUILDKIT: '0', DOCKER_CONFIG: fixture({}) });
      expect(r.code, r.stderr).toBe(0);
      const post = standIn.requests.find((q) => q.method === 'POST' && q.url.includes('/build'));
      expect(post?.body).toBeDefined();
      cliTar = post?.body as Buffer;
    } finally {
      await standIn.close();
    }
    expect(DOCKER_CLI).toContain('docker');
  });

  it('--full-context sends the same tar entries as the docker CLI', async () => {
    const standIn = await startStandInEngine({ keepBodies: true });
    try {
      const r = await imgtool(['build', '--full-context', '--progress', 'quiet', repo], { env: { DOCKER_HOST: standIn.host } });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const post = standIn.requests.find((q) => q.method === 'POST' && q.url.includes('/build'));
      const ours = await entries(post?.body as Buffer);
      const theirs = await entries(cliTar);
      expect(ours.length).toBeGreaterThan(1500);
      expect(ours).toEqual(theirs);
      // Sizes differ only by tar framing details (PAX vs GNU long names), not by content.
      expect(Math.abs((post?.body as Buffer).length - cliTar.length)).toBeLessThan(16 * 1024);
    } finally {
      await standIn.close();
    }
  });

  it('the minimal context sends under 5% of the bytes the docker CLI sends', async () => {
    const w = world();
    const meta = join(fixture({}), 'meta.json');
    const r = await imgtool(['build', '--builder', 'classic', '--network', 'none', '--metadata-file', meta, '--progress', 'quiet', repo], { env: { DOCKER_HOST: w.docker.host } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const metadata = JSON.parse(execFileSync('cat', [meta], { encoding: 'utf8' })) as { contextBytes: number; contextMode: string };
    expect(metadata.contextMode).toBe('minimal');
    const ratio = metadata.contextBytes / cliTar.length;
    // Reported for the record (docs/benchmarks.md quotes this test).
    console.log(`context bytes: docker CLI ${cliTar.length}, imgtool minimal ${metadata.contextBytes} (${(ratio * 100).toFixed(2)}%)`);
    expect(ratio).toBeLessThan(0.05);
  });

  it('context ls lists the minimal context; --all lists exactly the docker CLI tar entries', async () => {
    const w = world();
    const minimal = await imgtool(['context', 'ls', repo], { env: { DOCKER_HOST: w.docker.host } });
    expect(minimal.code).toBe(0);
    expect(minimal.stdout.split('\n').filter(Boolean)).toEqual([
      '.dockerignore',
      'Dockerfile',
      'config/',
      'config/app.json',
      'package.json',
      'src/',
      'src/index.js',
      'src/lib/',
      'src/lib/util.js',
      'src/pkg-link.json',
    ]);
    const all = await imgtool(['context', 'ls', '--all', repo], { env: { DOCKER_HOST: w.docker.host } });
    const theirs = (await entries(cliTar)).map((e) => e.path);
    expect(all.stdout.split('\n').filter(Boolean)).toEqual(theirs);
    const json = await imgtool(['context', 'ls', '--json', repo], { env: { DOCKER_HOST: w.docker.host } });
    const parsed = JSON.parse(json.stdout) as { mode: string; total: { entries: number; tarBytes: number; fullContextTarBytes: number } };
    expect(parsed.mode).toBe('minimal');
    expect(parsed.total.entries).toBe(10);
    expect(parsed.total.fullContextTarBytes).toBeGreaterThan(parsed.total.tarBytes * 20);
  });
});

/** The image's filesystem (docker export of a container), as comparable items. */
async function imageFiles(image: string): Promise<Item[]> {
  const host = world().docker.host;
  const id = execFileSync(DOCKER_CLI, ['-H', host, 'create', image], { encoding: 'utf8' }).trim();
  try {
    const tar = execFileSync(DOCKER_CLI, ['-H', host, 'export', id], { maxBuffer: 256 * 1024 * 1024 });
    // Directories the builder creates (WORKDIR, COPY destinations) get the build's time; the
    // files themselves keep the context's mtimes and must be identical.
    return (await entries(tar, { skipDirMtime: true })).filter((e) => !/^(etc\/(hostname|hosts|resolv\.conf|mtab)|\.dockerenv|dev\/|proc\/|sys\/)/.test(e.path));
  } finally {
    execFileSync(DOCKER_CLI, ['-H', host, 'rm', id]);
  }
}

describe.each(['classic', 'buildkit'] as const)('minimal and full context build the same image (%s)', (builder) => {
  it('has the same files, modes, owners, links and contents', async () => {
    const w = world();
    const repo = repoFixture();
    const build = async (extra: string[]): Promise<string> => {
      const r = await imgtool(['build', '--builder', builder, '--network', 'none', '--no-cache', '--progress', 'quiet', ...extra, repo], { env: { DOCKER_HOST: w.docker.host } });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    const minimal = await build([]);
    const full = await build(['--full-context']);
    const a = await imageFiles(minimal);
    const b = await imageFiles(full);
    expect(a.some((e) => e.path === 'app/src/lib/util.js')).toBe(true);
    expect(a).toEqual(b);
    const inspect = (id: string): unknown => {
      const img = (JSON.parse(execFileSync(DOCKER_CLI, ['-H', w.docker.host, 'image', 'inspect', id], { encoding: 'utf8' })) as Array<{ Config: Record<string, unknown>; RootFS: { Layers: string[] } }>)[0];
      // Config.Image is the classic builder's intermediate parent id, which differs per build.
      const { Image: _parent, ...config } = img?.Config ?? {};
      return { config, layers: img?.RootFS.Layers.length };
    };
    expect(inspect(minimal)).toEqual(inspect(full));
  });
});

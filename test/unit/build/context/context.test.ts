import { execFileSync } from 'node:child_process';
import { chmod, link, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Parser, type ReadEntry } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PatternMatcher } from '../../../../src/build/dockerignore/matcher.js';
import { loadContext, resolveBuildInput, tarOf } from '../../../../src/build/context/source.js';
import { contextTar, contextTarSize } from '../../../../src/build/context/tar.js';
import { compareNames, listContext } from '../../../../src/build/context/walk.js';
import { isImgtoolError } from '../../../../src/image/errors.js';

interface TarItem {
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
  content: string;
}

/** Parses a tar produced by imgtool with node-tar's reader. */
async function readTar(chunks: AsyncIterable<Buffer>): Promise<TarItem[]> {
  const items: TarItem[] = [];
  const parser = new Parser();
  const done = new Promise<void>((res, rej) => {
    parser.on('end', () => res());
    parser.on('error', rej);
  });
  parser.on('entry', (e: ReadEntry) => {
    const parts: Buffer[] = [];
    e.on('data', (d: Buffer) => parts.push(d));
    e.on('end', () =>
      items.push({
        path: e.path,
        type: e.type,
        mode: e.mode ?? -1,
        uid: e.uid ?? -1,
        gid: e.gid ?? -1,
        uname: e.uname ?? '',
        gname: e.gname ?? '',
        size: e.size ?? 0,
        mtime: Math.floor((e.mtime?.getTime() ?? 0) / 1000),
        linkpath: e.linkpath ?? '',
        content: Buffer.concat(parts).toString('utf8'),
      }),
    );
  });
  for await (const c of chunks) parser.write(c);
  parser.end();
  await done;
  return items;
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtool-ctx-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(spec: Record<string, string>): Promise<void> {
  for (const [p, content] of Object.entries(spec)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), content);
  }
}

const list = async (patterns: string[]): Promise<string[]> =>
  (await listContext({ contextDir: dir, matcher: new PatternMatcher(patterns) })).map((e) => (e.type === 'dir' ? `${e.path}/` : e.path));

describe('walkContext', () => {
  it('orders entries like the docker CLI: depth first, names in byte order', async () => {
    await files({ 'a/x': '1', 'a-b': '2', 'B': '3', 'a/Z': '4', 'é': '5', 'z': '6' });
    expect(await list([])).toEqual(['B', 'a/', 'a/Z', 'a/x', 'a-b', 'z', 'é']);
  });

  it('compares names by UTF-8 bytes, not UTF-16 units', () => {
    // U+FF21 (3 UTF-8 bytes, EF BC A1) sorts before U+1F600 (4 bytes, F0 ...), unlike UTF-16.
    expect(compareNames('\uFF21', '\u{1F600}')).toBeLessThan(0);
    expect(compareNames('a', 'b')).toBeLessThan(0);
  });

  it('skips an excluded directory entirely, without reading it', async () => {
    await files({ 'node_modules/x/index.js': 'x', 'src/a.js': 'a' });
    expect(await list(['node_modules'])).toEqual(['src/', 'src/a.js']);
  });

  it('descends into an excluded directory when an exception starts with it, without its own entry', async () => {
    await files({ 'docs/a.md': 'a', 'docs/README.md': 'r', 'docs/sub/README.md': 's' });
    expect(await list(['docs', '!docs/README.md'])).toEqual(['docs/README.md']);
    // `!**/README.md` does not start with "docs/": the CLI skips the directory.
    expect(await list(['docs', '!**/README.md'])).toEqual([]);
  });

  it('applies parent results like the CLI (MatchesUsingParentResults)', async () => {
    await files({ 'a/b': 'b', 'a/c': 'c' });
    // "a" excluded, "!a/b" re-includes a/b, the last "a" is skipped at "a" and does not match "a/b" itself.
    expect(await list(['a', '!a/b', 'a'])).toEqual(['a/b']);
  });

  it('keeps symlinks as symlinks and never follows them', async () => {
    await files({ 'real/f': 'f' });
    await symlink('/etc', join(dir, 'outside'));
    await symlink('real', join(dir, 'inlink'));
    const entries = await listContext({ contextDir: dir, matcher: new PatternMatcher([]) });
    expect(entries.map((e) => [e.path, e.type, e.linkTarget])).toEqual([
      ['inlink', 'symlink', 'real'],
      ['outside', 'symlink', '/etc'],
      ['real', 'dir', undefined],
      ['real/f', 'file', undefined],
    ]);
  });
});

describe('contextTar', () => {
  it('writes uid/gid 0, empty names, modes, mtimes, symlinks, hard links and long names', async () => {
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(120)}.txt`;
    await files({ 'run.sh': '#!/bin/sh\n', 'data/x.txt': 'hello', [long]: 'long' });
    await chmod(join(dir, 'run.sh'), 0o4755);
    await utimes(join(dir, 'data', 'x.txt'), 1_600_000_000, 1_600_000_000.75);
    await link(join(dir, 'data', 'x.txt'), join(dir, 'data', 'y.txt'));
    await symlink('data/x.txt', join(dir, 'ln'));
    const entries = await listContext({ contextDir: dir, matcher: new PatternMatcher([]) });
    const { stream, stats } = contextTar({ contextDir: dir, entries });
    const bytes = await collect(stream);
    expect(stats.bytes).toBe(bytes.length);
    expect(contextTarSize(entries)).toBe(bytes.length);
    const items = await readTar(once(bytes));
    const byPath = new Map(items.map((i) => [i.path, i]));
    for (const i of items) {
      expect([i.uid, i.gid, i.uname, i.gname]).toEqual([0, 0, '', '']);
    }
    expect(byPath.get('run.sh')).toMatchObject({ type: 'File', mode: 0o4755, content: '#!/bin/sh\n' });
    expect(byPath.get('data/')).toMatchObject({ type: 'Directory' });
    expect(byPath.get('data/x.txt')).toMatchObject({ type: 'File', mtime: 1_600_000_000, content: 'hello' });
    expect(byPath.get('data/y.txt')).toMatchObject({ type: 'Link', linkpath: 'data/x.txt', size: 0 });
    expect(byPath.get('ln')).toMatchObject({ type: 'SymbolicLink', linkpath: 'data/x.txt' });
    expect(byPath.get(long)).toMatchObject({ type: 'File', content: 'long' });
    // GNU tar reads it the same way.
    const gnu = execFileSync('tar', ['-tvf', '-'], { input: bytes, encoding: 'utf8' });
    expect(gnu).toContain('-rwsr-xr-x 0/0');
    expect(gnu).toContain(long);
  });

  it('streams a file larger than the chunk size with constant-size chunks', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    await writeFile(join(dir, 'big.bin'), big);
    await files({ 'small': 's' });
    const entries = await listContext({ contextDir: dir, matcher: new PatternMatcher([]) });
    const { stream } = contextTar({ contextDir: dir, entries });
    let largest = 0;
    const parts: Buffer[] = [];
    for await (const c of stream) {
      largest = Math.max(largest, c.length);
      parts.push(c);
    }
    expect(largest).toBeLessThanOrEqual(1024 * 1024 + 512);
    const items = await readTar(once(Buffer.concat(parts)));
    expect(items.find((i) => i.path === 'big.bin')?.size).toBe(big.length);
  });

  it('refuses a fifo with CONTEXT_UNREADABLE naming the path', async () => {
    await files({ 'ok': 'ok' });
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    const entries = await listContext({ contextDir: dir, matcher: new PatternMatcher([]) });
    const { stream } = contextTar({ contextDir: dir, entries });
    const err = await collect(stream).catch((e: unknown) => e);
    expect(isImgtoolError(err, 'CONTEXT_UNREADABLE')).toBe(true);
    expect((err as Error).message).toContain('pipe');
    // Excluded, the fifo is simply not part of the context.
    const kept = await listContext({ contextDir: dir, matcher: new PatternMatcher(['pipe']) });
    expect(kept.map((e) => e.path)).toEqual(['ok']);
  });

  it('fails with the path when a file shrinks while being sent', async () => {
    await files({ 'f': 'some content' });
    const entries = await listContext({ contextDir: dir, matcher: new PatternMatcher([]) });
    await writeFile(join(dir, 'f'), 'x');
    const err = await collect(contextTar({ contextDir: dir, entries }).stream).catch((e: unknown) => e);
    expect(isImgtoolError(err, 'CONTEXT_UNREADABLE')).toBe(true);
    expect((err as Error).message).toMatch(/f changed while/);
  });
});

describe('loadContext', () => {
  it('always sends the Dockerfile and .dockerignore, even when ignored', async () => {
    await files({ 'Dockerfile': 'FROM scratch\n', '.dockerignore': '*\n', 'app.js': 'x' });
    const input = await resolveBuildInput({ cwd: dir });
    const ctx = await loadContext(input);
    expect(ctx.entries.map((e) => e.path)).toEqual(['.dockerignore', 'Dockerfile']);
    expect(ctx.dockerfileName).toBe('Dockerfile');
  });

  it('keeps a Dockerfile inside an ignored directory and walks into it', async () => {
    await files({ 'build/Dockerfile': 'FROM scratch\n', 'build/other': 'o', '.dockerignore': 'build\n' });
    const input = await resolveBuildInput({ cwd: dir, dockerfile: 'build/Dockerfile' });
    const ctx = await loadContext(input);
    expect(ctx.entries.map((e) => e.path)).toEqual(['.dockerignore', 'build/Dockerfile']);
    expect(ctx.dockerfileName).toBe('build/Dockerfile');
  });

  it('injects a Dockerfile from outside the context as .dockerfile.<random> and hides it in .dockerignore', async () => {
    const ctxDir = join(dir, 'ctx');
    await files({ 'ctx/a': 'a', 'elsewhere/Dockerfile': 'FROM scratch\nCOPY a /a\n' });
    const input = await resolveBuildInput({ cwd: dir, contextDir: 'ctx', dockerfile: 'elsewhere/Dockerfile' });
    expect(input.contextDir.endsWith('ctx')).toBe(true);
    expect(input.dockerfileInContext).toBeUndefined();
    const ctx = await loadContext(input);
    expect(ctx.dockerfileName).toMatch(/^\.dockerfile\.[0-9a-f]{20}$/);
    const items = await readTar(tarOf(ctx, ctx.entries).stream);
    expect(items.map((i) => i.path)).toEqual(['a', ctx.dockerfileName, '.dockerignore']);
    expect(items[1]).toMatchObject({ mode: 0o600, content: 'FROM scratch\nCOPY a /a\n' });
    expect(items[2]?.content).toBe(`.dockerignore\n${ctx.dockerfileName}\n`);
    expect(ctxDir).toBeTruthy();
  });

  it('appends the injected name to an existing .dockerignore and reads -f - from stdin', async () => {
    await files({ '.dockerignore': 'secret\n', 'secret': 's', 'a': 'a' });
    const input = await resolveBuildInput({ cwd: dir, dockerfile: '-', readStdin: async () => 'FROM scratch\n' });
    expect(input.dockerfileDisplay).toBe('-');
    const ctx = await loadContext(input);
    const items = await readTar(tarOf(ctx, ctx.entries).stream);
    expect(items.map((i) => i.path)).toEqual(['.dockerignore', 'a', ctx.dockerfileName]);
    expect(items[0]?.content).toBe(`secret\n\n${ctx.dockerfileName}\n`);
  });

  it('uses <Dockerfile>.dockerignore over .dockerignore', async () => {
    await files({ '.dockerignore': 'a\n', 'app.Dockerfile': 'FROM scratch\n', 'app.Dockerfile.dockerignore': 'b\n', 'a': 'a', 'b': 'b' });
    const ctx = await loadContext(await resolveBuildInput({ cwd: dir, dockerfile: 'app.Dockerfile' }));
    expect(ctx.ignore.file).toBe(join(dir, 'app.Dockerfile.dockerignore'));
    expect(ctx.entries.map((e) => e.path)).toEqual(['.dockerignore', 'a', 'app.Dockerfile', 'app.Dockerfile.dockerignore']);
  });

  it('reports a bad .dockerignore line as DOCKERIGNORE_INVALID with file:line', async () => {
    await files({ 'Dockerfile': 'FROM scratch\n', '.dockerignore': '# ok\nfine\n[z-a]\n' });
    const err = await loadContext(await resolveBuildInput({ cwd: dir })).catch((e: unknown) => e);
    expect(isImgtoolError(err, 'DOCKERIGNORE_INVALID')).toBe(true);
    expect((err as Error).message).toContain('.dockerignore:3');
  });
});

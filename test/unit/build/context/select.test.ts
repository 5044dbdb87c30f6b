import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { prepareBuildContext } from '../../../../src/build/build-context.js';
import type { BuilderKind } from '../../../../src/build/context/select.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtool-sel-'));
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

async function minimal(builder: BuilderKind = 'buildkit', extra: { target?: string } = {}) {
  const prepared = await prepareBuildContext({ cwd: dir, builder, ...extra });
  return { mode: prepared.mode, reason: prepared.fullReason, paths: prepared.entries.map((e) => (e.type === 'dir' ? `${e.path}/` : e.path)) };
}

describe('minimal context selection', () => {
  it('keeps what COPY reads (subtrees, wildcards, parents), the Dockerfile and .dockerignore', async () => {
    await files({
      'Dockerfile': 'FROM scratch\nCOPY src/ /app/src/\nCOPY config/*.json /app/\n',
      '.dockerignore': 'src/**/*.tmp\n',
      'src/a/b.js': 'b',
      'src/a/junk.tmp': 'ignored',
      'config/x.json': '{}',
      'config/y.yaml': 'no',
      'node_modules/big/index.js': 'x',
      '.git/HEAD': 'ref',
    });
    expect(await minimal()).toEqual({
      mode: 'minimal',
      reason: undefined,
      paths: ['.dockerignore', 'Dockerfile', 'config/', 'config/x.json', 'src/', 'src/a/', 'src/a/b.js'],
    });
  });

  it('follows a symlink the builder follows (a COPY source that is a link), keeping the link', async () => {
    await files({ 'Dockerfile': 'FROM scratch\nCOPY current/ /app/\n', 'releases/v1/old': '1', 'releases/v2/app': '2' });
    await symlink('releases/v2', join(dir, 'current'));
    expect((await minimal()).paths).toEqual(['Dockerfile', 'current', 'releases/', 'releases/v2/', 'releases/v2/app']);
  });

  it('falls back to the full context when a source goes through a symlinked directory', async () => {
    await files({ 'Dockerfile': 'FROM scratch\nCOPY link/app /app\n', 'real/app': 'x', 'other': 'y' });
    await symlink('real', join(dir, 'link'));
    const r = await minimal();
    expect(r.mode).toBe('full');
    expect(r.reason).toContain('symlink "link"');
  });

  it('includes the reads of every stage up to the target for the classic builder, only needed ones for BuildKit', async () => {
    await files({
      'Dockerfile': 'FROM scratch AS unused\nCOPY a.txt /\nFROM scratch AS app\nCOPY b.txt /\nFROM scratch AS later\nCOPY c.txt /\n',
      'a.txt': 'a',
      'b.txt': 'b',
      'c.txt': 'c',
    });
    expect((await minimal('buildkit', { target: 'app' })).paths).toEqual(['Dockerfile', 'b.txt']);
    expect((await minimal('classic', { target: 'app' })).paths).toEqual(['Dockerfile', 'a.txt', 'b.txt']);
  });

  it('sends everything for COPY . and for an ONBUILD trigger in the Dockerfile', async () => {
    await files({ 'Dockerfile': 'FROM scratch\nCOPY . /src\n', 'x': 'x' });
    expect((await minimal()).mode).toBe('full');
    await files({ 'Dockerfile': 'FROM scratch AS base\nONBUILD COPY x /x\nFROM base\n' });
    const r = await minimal();
    expect(r.mode).toBe('full');
    expect(r.reason).toContain('ONBUILD');
  });
});

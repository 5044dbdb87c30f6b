import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileIgnoreLines, findIgnoreFile, parseIgnoreFile } from '../../../../src/build/dockerignore/ignorefile.js';
import { isImgtoolError } from '../../../../src/image/errors.js';

describe('parseIgnoreFile (moby ignorefile.ReadAll)', () => {
  it('reads the ReadAll test content the way moby does', () => {
    const content = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    expect(parseIgnoreFile(content).map((l) => l.pattern)).toEqual([
      'test1',
      'test2',
      'a/file/here',
      'lastfile',
      '!inverted/abs/path',
      '!',
      '!',
    ]);
  });

  it('keeps line numbers, strips the BOM and CRLF, and only treats a leading # as a comment', () => {
    const lines = parseIgnoreFile('\uFEFFnode_modules\r\n  # not a comment\r\n#comment\r\n./a/../b/\r\n');
    expect(lines).toEqual([
      { pattern: 'node_modules', line: 1 },
      { pattern: '# not a comment', line: 2 },
      { pattern: 'b', line: 4 },
    ]);
  });

  it('cleans patterns like paths and drops one leading slash', () => {
    expect(parseIgnoreFile('dir/\n//x\n/\na//b/./c').map((l) => l.pattern)).toEqual(['dir', 'x', '/', 'a/b/c']);
  });
});

describe('compileIgnoreLines', () => {
  it('names file and line of a bad pattern (DOCKERIGNORE_INVALID)', () => {
    const lines = parseIgnoreFile('ok\n# c\n[-]\n');
    try {
      compileIgnoreLines('/ctx/.dockerignore', lines);
      expect.unreachable('must throw');
    } catch (err) {
      expect(isImgtoolError(err, 'DOCKERIGNORE_INVALID')).toBe(true);
      expect((err as Error).message).toContain('/ctx/.dockerignore:3');
    }
  });

  it('rejects a bare ! with its line', () => {
    expect(() => compileIgnoreLines('/c/.dockerignore', parseIgnoreFile('a\n!\n'))).toThrow(/\.dockerignore:2: illegal exclusion pattern/);
  });

  it('applies the protocols.md examples', () => {
    const m = (text: string) => compileIgnoreLines(undefined, parseIgnoreFile(text)).matcher;
    expect(m('docs').excludes('docs/x')).toBe(true);
    expect(m('a*').excludes('ab/c')).toBe(true);
    expect(m('*.go').excludes('sub/x.go')).toBe(false);
    expect(m('*.go\n!fileutils.go').excludes('fileutils.go')).toBe(false);
    expect(m('!fileutils.go\n*.go').excludes('fileutils.go')).toBe(true);
  });
});

describe('findIgnoreFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imgtool-ign-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prefers <Dockerfile>.dockerignore next to the Dockerfile (BuildKit)', async () => {
    await mkdir(join(dir, 'build'));
    await writeFile(join(dir, '.dockerignore'), 'from-context\n');
    await writeFile(join(dir, 'build', 'app.Dockerfile'), 'FROM scratch\n');
    await writeFile(join(dir, 'build', 'app.Dockerfile.dockerignore'), 'from-dockerfile\n');
    const found = await findIgnoreFile({ contextDir: dir, dockerfilePath: join(dir, 'build', 'app.Dockerfile') });
    expect(found.file).toBe(join(dir, 'build', 'app.Dockerfile.dockerignore'));
    expect(found.lines.map((l) => l.pattern)).toEqual(['from-dockerfile']);
  });

  it('falls back to <context>/.dockerignore, then to none', async () => {
    await writeFile(join(dir, 'Dockerfile'), 'FROM scratch\n');
    expect((await findIgnoreFile({ contextDir: dir, dockerfilePath: join(dir, 'Dockerfile') })).file).toBeUndefined();
    await writeFile(join(dir, '.dockerignore'), 'x\n');
    const found = await findIgnoreFile({ contextDir: dir, dockerfilePath: join(dir, 'Dockerfile') });
    expect(found.file).toBe(join(dir, '.dockerignore'));
  });
});

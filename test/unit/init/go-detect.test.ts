import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { chooseMain, detectGoProject, goImageTag, goPackageName, importsC, parseGoMod } from '../../../src/init/go-detect.js';
import { isImgtoolError } from '../../../src/image/errors.js';
import { cleanProjects, FIXTURES, project } from './helpers.js';

afterAll(cleanProjects);

describe('parseGoMod', () => {
  it('reads module, go, toolchain, requires (blocks too) and local replaces', () => {
    const mod = parseGoMod(
      [
        '// a comment',
        'module "example.com/team/api" // quoted',
        '',
        'go 1.22.3',
        'toolchain go1.23.4',
        'require github.com/a/b v1.0.0',
        'require (',
        '\tgithub.com/mattn/go-sqlite3 v1.14.22 // indirect',
        '\tgolang.org/x/sync v0.7.0',
        ')',
        'replace example.com/lib => ./lib',
        'replace (',
        '\texample.com/other v1.0.0 => ../other',
        '\texample.com/remote => example.com/fork v1.2.0',
        ')',
      ].join('\n'),
    );
    expect(mod).toEqual({
      module: 'example.com/team/api',
      go: '1.22.3',
      toolchain: '1.23.4',
      requires: ['github.com/a/b', 'github.com/mattn/go-sqlite3', 'golang.org/x/sync'],
      localReplaces: ['./lib', '../other'],
    });
  });
});

describe('goImageTag', () => {
  it('uses the toolchain exactly, else the go line release, never below 1.22', () => {
    expect(goImageTag('1.22.3', '1.23.4')).toBe('1.23.4');
    expect(goImageTag('1.23.1', undefined)).toBe('1.23');
    expect(goImageTag('1.19', undefined)).toBe('1.22');
    expect(goImageTag(undefined, undefined)).toBe('1.22');
  });
});

describe('source scanning', () => {
  it('reads the package clause past comments and skips go:build ignore files', () => {
    expect(goPackageName('// Command x.\n/* block\npackage nope */\npackage main\n')).toBe('main');
    expect(goPackageName('//go:build ignore\n\npackage main\n')).toBeUndefined();
  });

  it('finds import "C" alone or inside an import block, not in comments', () => {
    expect(importsC('package main\n// #include <x.h>\nimport "C"\n')).toBe(true);
    expect(importsC('package main\nimport (\n\t"fmt"\n\t"C"\n)\n')).toBe(true);
    expect(importsC('package main\n// import "C"\nimport "fmt"\n')).toBe(false);
    expect(importsC('package main\nimport (\n\t"fmt"\n)\nvar s = "C"\n')).toBe(false);
  });

  it('prefers cmd/<module name>, then cmd/server, cmd/api, the root', () => {
    const m = (dir: string) => ({ dir, binary: dir.split('/').pop() ?? '' });
    expect(chooseMain([m('./cmd/a'), m('./cmd/server'), m('.')], 'example.com/x')).toEqual(m('./cmd/server'));
    expect(chooseMain([m('./cmd/a'), m('./cmd/x'), m('./cmd/server')], 'example.com/x')).toEqual(m('./cmd/x'));
    expect(chooseMain([m('./cmd/b'), m('.')], 'example.com/x')).toEqual(m('.'));
    expect(chooseMain([m('./cmd/b'), m('./cmd/c')], 'example.com/x')).toEqual(m('./cmd/b'));
  });
});

describe('detectGoProject', () => {
  it('go-server fixture: cmd/server chosen among two mains, static', async () => {
    const p = await detectGoProject(join(FIXTURES, 'go-server'));
    expect(p.module).toBe('example.com/fx/server');
    expect(p.goVersion).toBe('1.19');
    expect(p.imageTag).toBe('1.22');
    expect(p.mains.map((m) => m.dir)).toEqual(['./cmd/migrate', './cmd/server']);
    expect(p.main).toEqual({ dir: './cmd/server', binary: 'server' });
    expect(p.static).toBe(true);
    expect(p.cgo).toEqual([]);
    expect(p.hasGoSum).toBe(false);
  });

  it('go-cgo fixture: import "C" in the root main package, not static', async () => {
    const p = await detectGoProject(join(FIXTURES, 'go-cgo'));
    expect(p.main).toEqual({ dir: '.', binary: 'cgo' });
    expect(p.cgo).toEqual(['main.go']);
    expect(p.static).toBe(false);
  });

  it('counts known cgo modules, vendoring, local replaces and skips test files', async () => {
    const dir = project({
      'go.mod': 'module example.com/db\n\ngo 1.23\n\nrequire github.com/mattn/go-sqlite3 v1.14.22\n\nreplace example.com/util => ./util\nreplace example.com/far => ../far\n',
      'go.sum': '',
      'vendor/modules.txt': '# github.com/mattn/go-sqlite3 v1.14.22\n',
      'main.go': 'package main\n\nfunc main() {}\n',
      'c_test.go': 'package main\n\nimport "C"\n',
      'util/util.go': 'package util\n',
    });
    const p = await detectGoProject(dir);
    expect(p.cgo).toEqual(['github.com/mattn/go-sqlite3']);
    expect(p.static).toBe(false);
    expect(p.vendored).toBe(true);
    expect(p.localReplaces).toEqual(['util']);
    expect(p.warnings.join('\n')).toMatch(/\.\.\/far points outside the build context/);
    expect(p.imageTag).toBe('1.23');
  });

  it('fails with INIT_DETECT_FAILED without go.mod, module line or main package', async () => {
    const cases = [project({ 'main.go': 'package main\n' }), project({ 'go.mod': 'go 1.22\n', 'main.go': 'package main\n' }), project({ 'go.mod': 'module x\n', 'lib.go': 'package lib\n' })];
    for (const dir of cases) {
      await expect(detectGoProject(dir)).rejects.toSatisfy((e: unknown) => isImgtoolError(e, 'INIT_DETECT_FAILED'));
    }
  });
});

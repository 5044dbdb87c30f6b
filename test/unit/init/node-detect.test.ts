import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { detectNodeProject, execFormOf } from '../../../src/init/node-detect.js';
import { detectProject } from '../../../src/init/init.js';
import { isImgtoolError } from '../../../src/image/errors.js';
import { cleanProjects, FIXTURES, pkg, project } from './helpers.js';

afterAll(cleanProjects);

describe('detectNodeProject on the fixtures (tree read from package-lock.json by arborist)', () => {
  it('pure-JS app: npm, dev dependency counted apart, vendored tarballs as install inputs', async () => {
    const p = await detectNodeProject(join(FIXTURES, 'node-pure'));
    expect(p.packageManager).toBe('npm');
    expect(p.lockfile).toBe('package-lock.json');
    expect(p.treeSource).toBe('package-lock.json');
    expect(p.dependencies).toEqual({ production: 1, development: 1 });
    expect(p.native).toEqual([]);
    expect(p.node).toEqual({ requested: '20', source: '.nvmrc', tag: '20.18' });
    expect(p.installInputs).toEqual(['vendor/devtool-1.0.0.tgz', 'vendor/greet-1.0.0.tgz']);
    expect(p.entry).toEqual({ command: ['node', 'server.js'], source: 'scripts.start "node server.js"', guessed: false });
    expect(p.build).toBeUndefined();
  });

  it('native addon: the lockfile marks the dependency as running install scripts', async () => {
    const p = await detectNodeProject(join(FIXTURES, 'node-native'));
    expect(p.native).toEqual([expect.objectContaining({ name: 'addon', version: '1.0.0', dev: false })]);
    expect(p.node.tag).toBe('20.18.0');
    expect(p.node.source).toBe('.node-version');
    expect(p.entry.command).toEqual(['node', 'index.js']);
  });

  it('workspace: every workspace manifest is an install input', async () => {
    const p = await detectNodeProject(join(FIXTURES, 'node-workspace'));
    expect(p.workspaces).toEqual([
      { name: '@fx/api', dir: 'packages/api' },
      { name: '@fx/lib', dir: 'packages/lib' },
    ]);
    expect(p.installInputs).toEqual(['packages/api/package.json', 'packages/lib/package.json', 'vendor/greet-1.0.0.tgz']);
    expect(p.node).toMatchObject({ source: 'engines.node', tag: '20.18' });
    expect(p.entry.command).toEqual(['node', 'packages/api/server.js']);
  });
});

describe('detectNodeProject on synthetic projects', () => {
  it('reads node_modules with arborist when there is no lockfile, and finds binding.gyp there', async () => {
    const dir = project({
      'package.json': pkg({ name: 'nolock', dependencies: { gyp: '1.0.0', plain: '1.0.0' }, devDependencies: { tool: '1.0.0' } }),
      'node_modules/gyp/package.json': pkg({ name: 'gyp', version: '1.0.0' }),
      'node_modules/gyp/binding.gyp': '{"targets":[]}',
      'node_modules/plain/package.json': pkg({ name: 'plain', version: '1.0.0' }),
      'node_modules/tool/package.json': pkg({ name: 'tool', version: '1.0.0', scripts: { postinstall: 'node setup.js' } }),
      'index.js': '',
    });
    const p = await detectNodeProject(dir);
    expect(p.lockfile).toBeUndefined();
    expect(p.treeSource).toBe('node_modules');
    expect(p.warnings.join('\n')).toMatch(/no lockfile/);
    expect(p.native.map((n) => [n.name, n.reason, n.dev])).toEqual([
      ['gyp', 'binding.gyp (node-gyp)', false],
      ['tool', 'postinstall script', true],
    ]);
    expect(p.entry).toMatchObject({ command: ['node', 'index.js'], guessed: true });
  });

  it('counts package.json lists when nothing is installed', async () => {
    const dir = project({ 'package.json': pkg({ name: 'bare', main: 'app.js', dependencies: { a: '1', b: '2' }, devDependencies: { c: '3' } }), 'app.js': '' });
    const p = await detectNodeProject(dir);
    expect(p.treeSource).toBe('package.json only');
    expect(p.dependencies).toEqual({ production: 2, development: 1 });
    expect(p.entry.command).toEqual(['node', 'app.js']);
    expect(p.node.source).toBe('default');
  });

  it('tells yarn classic, yarn 2+ and pnpm apart by their lockfiles', async () => {
    const yarn1 = await detectNodeProject(project({ 'package.json': pkg({ name: 'y1' }), 'yarn.lock': '# yarn lockfile v1\n' }));
    expect(yarn1.packageManager).toBe('yarn');
    expect(yarn1.installInputs).toEqual([]);
    const berry = await detectNodeProject(
      project({ 'package.json': pkg({ name: 'y2', packageManager: 'yarn@4.5.0' }), 'yarn.lock': '__metadata:\n  version: 8\n', '.yarnrc.yml': 'nodeLinker: node-modules\n', '.yarn/releases/yarn-4.5.0.cjs': '' }),
    );
    expect(berry.packageManager).toBe('yarn-berry');
    expect(berry.installInputs).toEqual(['.yarnrc.yml', '.yarn/releases/']);
    const pnpm = await detectNodeProject(
      project({
        'package.json': pkg({ name: 'p' }),
        'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
        'pnpm-workspace.yaml': "packages:\n  - 'apps/*'\n  - libs/core\n",
        'apps/web/package.json': pkg({ name: '@p/web' }),
        'libs/core/package.json': pkg({ name: '@p/core' }),
      }),
    );
    expect(pnpm.packageManager).toBe('pnpm');
    expect(pnpm.workspaces).toEqual([
      { name: '@p/web', dir: 'apps/web' },
      { name: '@p/core', dir: 'libs/core' },
    ]);
    expect(pnpm.installInputs).toEqual(['pnpm-workspace.yaml', 'apps/web/package.json', 'libs/core/package.json']);
  });

  it('warns about several lockfiles and prefers the packageManager field', async () => {
    const p = await detectNodeProject(project({ 'package.json': pkg({ name: 'x', packageManager: 'pnpm@9.1.0' }), 'package-lock.json': pkg({ lockfileVersion: 3, packages: {} }), 'pnpm-lock.yaml': '' }));
    expect(p.packageManager).toBe('pnpm');
    expect(p.warnings.join('\n')).toMatch(/several lockfiles/);
  });

  it('detects a TypeScript build and its output directory', async () => {
    const dir = project({
      'package.json': pkg({ name: 'ts-app', scripts: { build: 'tsc -p .', start: 'node dist/main.js' }, devDependencies: { typescript: '5' } }),
      'tsconfig.json': '{\n  // comments are allowed here\n  "compilerOptions": { "outDir": "./dist", },\n}\n',
    });
    const p = await detectNodeProject(dir);
    expect(p.build).toEqual({ script: 'build', typescript: true, outputs: ['dist'] });
    expect(p.entry.command).toEqual(['node', 'dist/main.js']);
  });

  it('runs `npm start` (with a warning) when the start script is not a plain node command', async () => {
    const p = await detectNodeProject(project({ 'package.json': pkg({ name: 's', scripts: { start: 'NODE_OPTIONS=--x node a.js && echo done' } }) }));
    expect(p.entry.command).toEqual(['npm', 'start']);
    expect(p.warnings.join('\n')).toMatch(/SIGTERM/);
  });

  it('warns about root install scripts and .npmrc, and about .nvmrc disagreeing with engines', async () => {
    const p = await detectNodeProject(
      project({ 'package.json': pkg({ name: 'w', engines: { node: '>=22' }, scripts: { prepare: 'husky' } }), '.npmrc': '//registry/:_authToken=x\n', '.nvmrc': '20\n' }),
    );
    const text = p.warnings.join('\n');
    expect(text).toMatch(/prepare/);
    expect(text).toMatch(/\.npmrc stays out/);
    expect(text).toMatch(/disagree/);
    expect(p.hasNpmrc).toBe(true);
  });

  it('fails with INIT_DETECT_FAILED without package.json or with a broken one', async () => {
    await expect(detectNodeProject(project({ 'README.md': '' }))).rejects.toSatisfy((e: unknown) => isImgtoolError(e, 'INIT_DETECT_FAILED'));
    await expect(detectNodeProject(project({ 'package.json': '{ nope' }))).rejects.toSatisfy((e: unknown) => isImgtoolError(e, 'INIT_DETECT_FAILED'));
  });
});

describe('execFormOf', () => {
  it('accepts plain node commands only', () => {
    expect(execFormOf('node server.js')).toEqual(['node', 'server.js']);
    expect(execFormOf('node --enable-source-maps dist/a.js --port 3')).toEqual(['node', '--enable-source-maps', 'dist/a.js', '--port', '3']);
    expect(execFormOf('node a.js | tee log')).toBeUndefined();
    expect(execFormOf('nodemon a.js')).toBeUndefined();
    expect(execFormOf('node $ENTRY')).toBeUndefined();
  });
});

describe('detectProject language choice', () => {
  it('needs --lang when both go.mod and package.json exist, and fails on neither', async () => {
    const both = project({ 'go.mod': 'module x\n', 'package.json': pkg({ name: 'x' }), 'main.go': 'package main\n' });
    await expect(detectProject(both)).rejects.toSatisfy((e: unknown) => isImgtoolError(e, 'INIT_DETECT_FAILED') && /--lang/.test((e as { hint?: string }).hint ?? ''));
    expect((await detectProject(both, { lang: 'go' })).language).toBe('go');
    expect((await detectProject(both, { lang: 'node' })).language).toBe('node');
    await expect(detectProject(project({ 'x.txt': '' }))).rejects.toSatisfy((e: unknown) => isImgtoolError(e, 'INIT_DETECT_FAILED'));
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { run, type BaseRuntime } from '../../../src/cli/program.js';
import { cleanProjects, copyFixture, project } from './helpers.js';

afterAll(cleanProjects);

/** Runs `imgtool <argv>` in-process with captured streams. */
async function imgtool(argv: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  const rt: BaseRuntime = {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    stdin: new PassThrough(),
    env: {},
    cwd,
    signal: new AbortController().signal,
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
  const code = await run(argv, rt);
  return { code, stdout, stderr };
}

/** The parts of `imgtool plan --json` these tests read. */
interface PlanJson {
  readonly warnings: unknown[];
  readonly stages: unknown[];
  readonly context: { readonly reads: { readonly line: number; readonly sources: string[]; readonly paths: string[] }[] };
}

/** Every source of every COPY from the context matches files (nothing it needs was ignored). */
function expectEveryCopyFindsFiles(plan: PlanJson): void {
  expect(plan.context.reads.length).toBeGreaterThan(1);
  for (const read of plan.context.reads) {
    for (const src of read.sources) {
      const found = src === '.' ? read.paths.length > 0 : read.paths.some((p) => p === src || p.startsWith(`${src}/`));
      expect(found, `line ${read.line}: ${src} matches nothing in the context`).toBe(true);
    }
  }
}

describe('imgtool init (CLI)', () => {
  it('writes Dockerfile and .dockerignore, summarises on stderr, prints nothing on stdout', async () => {
    const dir = copyFixture('node-pure');
    const res = await imgtool(['init', dir], '/');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/Node project fx-node-pure: npm, node:20\.18/);
    expect(res.stderr).toMatch(/wrote .*Dockerfile and .*\.dockerignore/);
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toMatch(/^CMD \["node", "server\.js"\]$/m);
    expect(readFileSync(join(dir, '.dockerignore'), 'utf8')).toMatch(/^\*\*\/node_modules$/m);
  });

  it('never overwrites without --force: INIT_EXISTS names the file, exit 1, nothing written', async () => {
    const dir = copyFixture('go-server');
    writeFileSync(join(dir, '.dockerignore'), 'mine\n');
    const res = await imgtool(['init'], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${join(dir, '.dockerignore')} already exists`);
    expect(res.stderr).toMatch(/hint: use --force/);
    expect(existsSync(join(dir, 'Dockerfile'))).toBe(false);
    expect(readFileSync(join(dir, '.dockerignore'), 'utf8')).toBe('mine\n');

    const forced = await imgtool(['init', '--force', '.'], dir);
    expect(forced.code).toBe(0);
    expect(readFileSync(join(dir, '.dockerignore'), 'utf8')).toMatch(/imgtool init/);
    expect(readFileSync(join(dir, 'Dockerfile'), 'utf8')).toMatch(/ENTRYPOINT \["\/usr\/local\/bin\/server"\]/);
  });

  it('--print writes the Dockerfile to stdout and no file', async () => {
    const dir = copyFixture('go-cgo');
    const res = await imgtool(['init', '--print', dir], '/');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^# Dockerfile for example\.com\/fx\/cgo/);
    expect(res.stdout).toMatch(/ENV CGO_ENABLED=1/);
    expect(res.stderr).toMatch(/cgo \(main\.go\)/);
    expect(existsSync(join(dir, 'Dockerfile'))).toBe(false);
    expect(existsSync(join(dir, '.dockerignore'))).toBe(false);
  });

  it('--lang picks the language when both manifests exist; a bad --lang is a usage error', async () => {
    const dir = project({ 'go.mod': 'module example.com/both\n\ngo 1.22\n', 'main.go': 'package main\nfunc main() {}\n', 'package.json': '{"name":"both","main":"main.js"}', 'main.js': '' });
    const ambiguous = await imgtool(['init', '--print', dir], '/');
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(/both go\.mod and package\.json/);
    const asNode = await imgtool(['init', '--print', '--lang', 'node', dir], '/');
    expect(asNode.code).toBe(0);
    expect(asNode.stdout).toMatch(/ARG NODE_IMAGE=/);
    const bad = await imgtool(['init', '--lang', 'rust', dir], '/');
    expect(bad.code).toBe(2);
  });

  it('--json prints the detected project and the files written', async () => {
    const dir = copyFixture('node-workspace');
    const res = await imgtool(['init', '--json', dir], '/');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { language: string; written: string[]; project: { workspaces: unknown[] } };
    expect(out.language).toBe('node');
    expect(out.written).toEqual([join(dir, 'Dockerfile'), join(dir, '.dockerignore')]);
    expect(out.project.workspaces).toHaveLength(2);
  });

  describe('the generated files pass `imgtool plan` with no warnings', () => {
    const fixtures = ['node-pure', 'node-native', 'node-workspace', 'go-server', 'go-cgo'];
    /** Files a real checkout has lying around: secrets the .dockerignore must keep out. */
    const plantSecrets = (dir: string): void => {
      writeFileSync(join(dir, '.env'), 'DB_PASSWORD=x\n');
      writeFileSync(join(dir, '.npmrc'), '//registry.npmjs.org/:_authToken=x\n');
      writeFileSync(join(dir, 'id_rsa'), 'key\n');
      writeFileSync(join(dir, 'server.key'), 'key\n');
    };

    for (const fixture of fixtures) {
      it.each(['classic', 'buildkit'])(`${fixture} (%s builder)`, async (builder) => {
        const dir = copyFixture(fixture);
        plantSecrets(dir);
        expect((await imgtool(['init', dir], '/')).code).toBe(0);
        const res = await imgtool(['plan', '--json', '--builder', builder, dir], '/');
        expect(res.code, res.stderr).toBe(0);
        const plan = JSON.parse(res.stdout) as PlanJson;
        expect(plan.warnings).toEqual([]);
        expect(plan.stages.length).toBeGreaterThanOrEqual(2);
        expectEveryCopyFindsFiles(plan);
      });
    }

    it.each([
      ['yarn classic', { 'package.json': '{"name":"y","main":"a.js"}', 'yarn.lock': '# yarn lockfile v1\n', '.yarnrc': 'registry "https://r.example/"\n', 'a.js': '' }],
      [
        'yarn 2+',
        { 'package.json': '{"name":"y","main":"a.js","packageManager":"yarn@4.5.0"}', 'yarn.lock': '__metadata:\n', '.yarnrc.yml': 'nodeLinker: node-modules\n', '.yarn/releases/yarn.cjs': '', 'a.js': '' },
      ],
      ['pnpm', { 'package.json': '{"name":"p","main":"a.js"}', 'pnpm-lock.yaml': '', 'pnpm-workspace.yaml': 'packages:\n  - libs/*\n', 'libs/x/package.json': '{"name":"x"}', 'a.js': '' }],
    ])('%s: the install inputs survive the .dockerignore, no warnings', async (_name, files) => {
      const dir = project(files);
      expect((await imgtool(['init', dir], '/')).code).toBe(0);
      const res = await imgtool(['plan', '--json', dir], '/');
      const plan = JSON.parse(res.stdout) as PlanJson;
      expect(plan.warnings).toEqual([]);
      expectEveryCopyFindsFiles(plan);
    });

    it('control: the same checks warn without the generated .dockerignore', async () => {
      const dir = copyFixture('node-pure');
      plantSecrets(dir);
      expect((await imgtool(['init', dir], '/')).code).toBe(0);
      writeFileSync(join(dir, '.dockerignore'), '');
      const res = await imgtool(['plan', '--json', '--builder', 'classic', dir], '/');
      const codes = (JSON.parse(res.stdout) as { warnings: { code: string }[] }).warnings.map((w) => w.code);
      expect(codes).toContain('IMG012');
    });
  });
});

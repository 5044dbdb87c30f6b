/**
 * `imgtool plan` end to end through run() (in-process, captured streams) on fixture
 * directories made here: the JSON shape CI scripts read, .dockerignore honoured in the paths
 * each COPY reads, --target/--build-arg/-f/-f -, exit codes and messages for bad Dockerfiles,
 * and no secret in the output.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildPlan } from '../../../src/build/plan/index.js';
import { world } from '../../world/world.js';
import { runInProcess, type InProcessResult } from '../../world/in-process.js';

interface PlanJson extends BuildPlan {
  readonly context: {
    readonly dir: string;
    readonly dockerignore: string | null;
    readonly totalPaths: number;
    readonly totalBytes: number;
    readonly reads: { readonly line: number; readonly instruction: string; readonly sources: string[]; readonly paths: string[] }[];
  };
}

function imgtool(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string }): Promise<InProcessResult> {
  return runInProcess(argv, { label: 'plan-cli', env: opts.env ?? {}, cwd: opts.cwd, ...(opts.stdin === undefined ? {} : { stdin: opts.stdin }) });
}

function write(root: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
}

const DOCKERFILE = [
  '# syntax=docker/dockerfile:1',
  'ARG NODE=node:20.18',
  'FROM $NODE AS deps',
  'WORKDIR /app',
  'COPY package*.json ./',
  'RUN npm ci',
  'FROM deps AS build',
  'ARG NPM_TOKEN',
  'ARG MODE',
  'COPY src ./src',
  'COPY *.config.js ./',
  'RUN npm run build -- --mode=$MODE',
  'FROM deps AS test',
  'COPY test ./test',
  'RUN npm test',
  'FROM node:20.18-slim AS runtime',
  'COPY --from=build /app/dist /app',
  'CMD node /app/main.js',
  '',
].join('\n');

function fixture(): string {
  const dir = mkdtempSync(join(world().tmp, 'plan-cli-'));
  write(dir, {
    Dockerfile: DOCKERFILE,
    '.dockerignore': 'node_modules\n**/*.log\n',
    'package.json': '{}',
    'package-lock.json': '{}',
    'src/main.js': 'x',
    'src/debug.log': 'ignored by .dockerignore',
    'src/lib/util.js': 'x',
    'vite.config.js': 'x',
    'test/a.test.js': 'x',
    'node_modules/big/index.js': 'x'.repeat(1000),
    '.env': 'SECRET=1',
  });
  return dir;
}

describe('imgtool plan --json', () => {
  it('prints the plan with the context paths each COPY reads (.dockerignore applied)', async () => {
    const dir = fixture();
    const res = await imgtool(['plan', '--json', dir, '--build-arg', 'MODE=prod'], { cwd: '/' });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const plan = JSON.parse(res.stdout) as PlanJson;
    expect(plan.syntax).toBe('docker/dockerfile:1');
    expect(plan.stages.map((s) => [s.name, s.base, s.needed])).toEqual([
      ['deps', 'node:20.18', true],
      ['build', 'deps', true],
      ['test', 'deps', false],
      ['runtime', 'node:20.18-slim', true],
    ]);
    expect(plan.target).toEqual({ index: 3, name: 'runtime' });
    expect(plan.neededStages).toEqual([0, 1, 3]);
    expect(plan.allStages).toEqual([0, 1, 2, 3]);
    expect(plan.externalImages).toEqual(['node:20.18', 'node:20.18-slim']);
    expect(plan.context.dockerignore).toBe(join(dir, '.dockerignore'));
    expect(plan.context.reads.map((r) => [r.line, r.instruction, r.sources, r.paths.sort()])).toEqual([
      [5, 'COPY', ['package*.json'], ['package-lock.json', 'package.json']],
      [10, 'COPY', ['src'], ['src/lib/util.js', 'src/main.js']],
      [11, 'COPY', ['*.config.js'], ['vite.config.js']],
    ]);
    const runLine = plan.stages[1]?.instructions.find((i) => i.line === 12);
    expect(runLine).toMatchObject({ keyword: 'RUN', createsLayer: true, layer: 'filesystem' });
    expect(plan.warnings.map((w) => `${w.code}@${w.line ?? '-'}`)).toEqual(['IMG007@8', 'IMG004@18', 'IMG012@-']);
  });

  it('--target prunes; --build-arg K takes K from the environment; secrets stay out of the output', async () => {
    const dir = fixture();
    const res = await imgtool(['plan', '--json', '--target', 'test', '--build-arg', 'NPM_TOKEN', '--build-arg', 'MODE', dir], {
      cwd: '/',
      env: { NPM_TOKEN: 'npm_s3cr3t_t0ken', MODE: 'dev' },
    });
    expect(res.code).toBe(0);
    const plan = JSON.parse(res.stdout) as PlanJson;
    expect(plan.neededStages).toEqual([0, 2]);
    expect(plan.context.reads.map((r) => r.sources)).toEqual([['package*.json'], ['test']]);
    const all = plan.stages.flatMap((s) => s.instructions);
    expect(all.find((i) => i.line === 8)?.args).toEqual(['NPM_TOKEN=***']);
    expect(all.find((i) => i.line === 9)?.args).toEqual(['MODE=dev']);
    expect(res.stdout + res.stderr).not.toContain('npm_s3cr3t_t0ken');
  });

  it('-f - reads the Dockerfile from stdin; -f may point outside the context', async () => {
    const dir = fixture();
    const viaStdin = await imgtool(['plan', '--json', '-f', '-', dir], { cwd: '/', stdin: 'FROM busybox:1.36\nCOPY src/main.js /m.js\n' });
    expect(viaStdin.code).toBe(0);
    const p1 = JSON.parse(viaStdin.stdout) as PlanJson;
    expect(p1.dockerfilePath).toBe('-');
    expect(p1.context.reads[0]?.paths).toEqual(['src/main.js']);

    const outside = mkdtempSync(join(world().tmp, 'plan-cli-df-'));
    write(outside, { 'Other.Dockerfile': 'FROM busybox:1.36\nCOPY vite.config.js /\n' });
    const viaFile = await imgtool(['plan', '--json', '-f', join(outside, 'Other.Dockerfile'), '.'], { cwd: dir });
    expect(viaFile.code).toBe(0);
    expect((JSON.parse(viaFile.stdout) as PlanJson).context.reads[0]?.paths).toEqual(['vite.config.js']);
  });

  it('the text form lists stages, layers, reads and warnings', async () => {
    const dir = fixture();
    const res = await imgtool(['plan', dir], { cwd: '/' });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Stage test (#2): FROM deps (stage)  [skipped]');
    expect(res.stdout).toContain('Stage runtime (#3): FROM node:20.18-slim  [needed]');
    expect(res.stdout).toMatch(/\n {5}5 {2}COPY package\*\.json \.\/ {3}\+layer\n {8}reads package\*\.json: 2 files: package-lock\.json, package\.json/);
    expect(res.stdout).toContain('reads src: 2 files');
    expect(res.stdout).toMatch(/Dockerfile:18: IMG004 shell-form-cmd-entrypoint: /);
    expect(res.stdout).not.toContain('debug.log');
  });
});

describe('imgtool plan: errors stop with exit 2 and name the line', () => {
  it('a syntax error', async () => {
    const dir = fixture();
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox:1.36\nRUN true\nCOPY onlyone\n');
    const res = await imgtool(['plan', '--json', dir], { cwd: '/' });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^imgtool: .*Dockerfile:3: COPY requires at least two arguments/);
  });

  it('an unknown instruction, with the suggestion', async () => {
    const dir = fixture();
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox:1.36\nCOPPY a b\n');
    const res = await imgtool(['plan', dir], { cwd: '/' });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('Dockerfile:2: unknown instruction: COPPY');
    expect(res.stderr).toContain('hint: did you mean "COPY"?');
  });

  it('an unknown --target names the stages', async () => {
    const res = await imgtool(['plan', '--target', 'nope', fixture()], { cwd: '/' });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('target stage "nope" could not be found; stages: deps, build, test, runtime');
  });

  it('a required build arg that is missing', async () => {
    const dir = fixture();
    writeFileSync(join(dir, 'Dockerfile'), 'ARG VERSION\nFROM busybox:${VERSION:?required}\n');
    const res = await imgtool(['plan', dir], { cwd: '/' });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/Dockerfile:2: FROM: required variable VERSION is missing/);
    const ok = await imgtool(['plan', '--json', '--build-arg', 'VERSION=1.36', dir], { cwd: '/' });
    expect(ok.code).toBe(0);
  });

  it('a bad --builder value is a usage error', async () => {
    const res = await imgtool(['plan', '--builder', 'kaniko', fixture()], { cwd: '/' });
    expect(res.code).toBe(2);
  });
});

/**
 * `imgtool init` end to end: for each fixture, generate the Dockerfile with the CLI, build it on
 * the private dockerd with the docker CLI 28 (classic builder, DOCKER_BUILDKIT=0, so cache hits
 * print `---> Using cache`) with the base-image ARGs pointed at images made on this machine
 * (see local-images.ts), run the image, then change only the code and check that the rebuild
 * reuses the dependency-install layer.
 *
 * Where things come from: Node runs from the host's `node` binary and libraries on busybox; npm
 * is the host's; the native addon compiles with g++/make/python3 copied from the host's Debian
 * packages; Go compiles inside an image holding Debian's golang-1.19 (not on the host). Nothing
 * is downloaded: the Node fixtures vendor their dependencies as `file:` tarballs, the Go ones
 * have none, and the containers have no network.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerCliAsync } from '../../world/base-image.js';
import { world } from '../../world/world.js';
import { runInProcess, type InProcessResult } from '../../world/in-process.js';
import { buildLocalImages, LOCAL_IMAGES } from './local-images.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/init/', import.meta.url));

/** Runs `imgtool <argv>` in-process with captured streams (empty environment, cwd /). */
function imgtool(argv: string[]): Promise<InProcessResult> {
  return runInProcess(argv, { label: 'init-build', env: {}, cwd: '/' });
}

/** A classic-builder step: its instruction and whether the cache answered it. */
interface BuildStep {
  readonly instruction: string;
  readonly cached: boolean;
}

/** Reads `Step N/M : <instruction>` blocks and their ` ---> Using cache` lines from classic builder output. */
function buildSteps(output: string): BuildStep[] {
  const steps: { instruction: string; cached: boolean }[] = [];
  for (const line of output.split('\n')) {
    const step = /^Step \d+\/\d+ : (.*)$/.exec(line);
    if (step) steps.push({ instruction: step[1] ?? '', cached: false });
    else if (line.trim() === '---> Using cache' && steps.length > 0) {
      const last = steps[steps.length - 1];
      if (last) last.cached = true;
    }
  }
  return steps;
}

interface Case {
  readonly fixture: string;
  /** Base-image build args (the generated Dockerfile's ARG names). */
  readonly buildArgs: Record<string, string>;
  readonly runEnv: string[];
  /** Checks the program's JSON output; `version` is "v1" or "v2". */
  readonly check: (out: Record<string, unknown>, version: string) => void;
  /** The code-only change: file and the text replaced. */
  readonly edit: { readonly file: string; readonly from: string; readonly to: string };
  /** The dependency-install step that must come from the cache after the edit. */
  readonly installStep: RegExp;
  /** Expected in the generated Dockerfile. */
  readonly dockerfile: RegExp[];
}

const CASES: Case[] = [
  {
    fixture: 'node-pure',
    buildArgs: { NODE_IMAGE: LOCAL_IMAGES.nodeRuntime, NODE_BUILD_IMAGE: LOCAL_IMAGES.nodeBuilder },
    runEnv: ['SMOKE=1'],
    check: (out, v) => {
      expect(out).toEqual({ message: `hello, node-pure ${v}`, uid: 1000, devtool: 'absent', env: 'production' });
    },
    edit: { file: 'server.js', from: '} v1`', to: '} v2`' },
    installStep: /^RUN npm ci --omit=dev/,
    dockerfile: [/^ARG NODE_BUILD_IMAGE=node:20\.18-bookworm-slim$/m],
  },
  {
    fixture: 'node-native',
    // The builder is the toolchain image: node-gyp compiles the addon during `npm ci`.
    buildArgs: { NODE_IMAGE: LOCAL_IMAGES.nodeRuntime, NODE_BUILD_IMAGE: LOCAL_IMAGES.nodeToolchain },
    runEnv: [],
    check: (out, v) => {
      expect(out).toEqual({ message: `hello, node-native ${v}`, sum: 42, uid: 1000 });
    },
    edit: { file: 'index.js', from: '} v1`', to: '} v2`' },
    installStep: /^RUN npm ci --omit=dev/,
    dockerfile: [/^ARG NODE_BUILD_IMAGE=node:20\.18\.0-bookworm$/m, /python3, make and g\+\+/],
  },
  {
    fixture: 'node-workspace',
    buildArgs: { NODE_IMAGE: LOCAL_IMAGES.nodeRuntime, NODE_BUILD_IMAGE: LOCAL_IMAGES.nodeBuilder },
    runEnv: [],
    check: (out, v) => {
      expect(out).toEqual({ message: `hello, lib from node-workspace ${v}`, uid: 1000 });
    },
    edit: { file: 'packages/api/server.js', from: '} v1`', to: '} v2`' },
    installStep: /^RUN npm ci --omit=dev/,
    dockerfile: [/^COPY packages\/api\/package\.json packages\/api\/$/m],
  },
  {
    fixture: 'go-server',
    buildArgs: { GO_IMAGE: LOCAL_IMAGES.golang, RUNTIME_IMAGE: LOCAL_IMAGES.static },
    runEnv: ['SMOKE=1'],
    check: (out, v) => {
      expect(out).toEqual({ message: `hello from go-server ${v}`, uid: 65532 });
    },
    edit: { file: 'internal/greet/greet.go', from: ' v1"', to: ' v2"' },
    installStep: /^RUN go mod download$/,
    dockerfile: [/^ENV CGO_ENABLED=0$/m, /\.\/cmd\/server$/m],
  },
  {
    fixture: 'go-cgo',
    // The runtime is the glibc image: the cgo binary is dynamically linked.
    buildArgs: { GO_IMAGE: LOCAL_IMAGES.golang, RUNTIME_IMAGE: LOCAL_IMAGES.glibc },
    runEnv: [],
    check: (out, v) => {
      expect(out).toEqual({ message: `hello from go-cgo ${v}`, answer: 42, uid: 65532 });
    },
    edit: { file: 'main.go', from: 'go-cgo v1', to: 'go-cgo v2' },
    installStep: /^RUN go mod download$/,
    dockerfile: [/^ENV CGO_ENABLED=1$/m],
  },
];

describe('imgtool init: generated Dockerfiles build and run', () => {
  const w = world();
  let work = '';

  beforeAll(async () => {
    mkdirSync(join(w.tmp, 'init'), { recursive: true });
    work = mkdtempSync(join(w.tmp, 'init', 'run-'));
    await buildLocalImages(w.docker.host, w.baseImage, join(work, 'images'));
  }, 900_000);

  async function build(dir: string, tag: string, args: Record<string, string>): Promise<string> {
    const argv = ['build', '-t', tag, ...Object.entries(args).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]), dir];
    const res = await dockerCliAsync(w.docker.host, argv);
    expect(res.code, `docker build ${tag} failed:\n${res.stdout}\n${res.stderr}`).toBe(0);
    // Every build arg must be one the Dockerfile declares (the builder warns otherwise).
    expect(`${res.stdout}${res.stderr}`).not.toMatch(/were not consumed/);
    return res.stdout;
  }

  async function runImage(tag: string, env: string[]): Promise<Record<string, unknown>> {
    const res = await dockerCliAsync(w.docker.host, ['run', '--rm', '--network', 'none', ...env.flatMap((e) => ['-e', e]), tag]);
    expect(res.code, `docker run ${tag} failed:\n${res.stdout}\n${res.stderr}`).toBe(0);
    const last = res.stdout.trim().split('\n').at(-1) ?? '';
    return JSON.parse(last) as Record<string, unknown>;
  }

  for (const c of CASES) {
    it(
      `${c.fixture}: init, build, run; a code-only change reuses the install layer`,
      async () => {
        const dir = join(work, c.fixture);
        cpSync(join(FIXTURES, c.fixture), dir, { recursive: true });
        const init = await imgtool(['init', dir]);
        expect(init.code, init.stderr).toBe(0);
        const dockerfile = readFileSync(join(dir, 'Dockerfile'), 'utf8');
        for (const pattern of c.dockerfile) expect(dockerfile).toMatch(pattern);
        // The planner has nothing to say about it, with the build args this test uses too.
        const buildArgFlags = Object.entries(c.buildArgs).flatMap(([k, v]) => ['--build-arg', `${k}=${v}`]);
        const plan = await imgtool(['plan', '--json', '--builder', 'classic', ...buildArgFlags, dir]);
        expect(plan.code, plan.stderr).toBe(0);
        expect((JSON.parse(plan.stdout) as { warnings: unknown[] }).warnings).toEqual([]);

        const tag = `imgtool-test/init-${c.fixture}:1`;
        const first = buildSteps(await build(dir, tag, c.buildArgs));
        const install = first.find((s) => c.installStep.test(s.instruction));
        expect(install, 'the install step ran').toMatchObject({ cached: false });
        c.check(await runImage(tag, c.runEnv), 'v1');

        const file = join(dir, c.edit.file);
        const source = readFileSync(file, 'utf8');
        expect(source).toContain(c.edit.from);
        writeFileSync(file, source.replace(c.edit.from, c.edit.to));
        const second = buildSteps(await build(dir, tag, c.buildArgs));
        expect(second.find((s) => c.installStep.test(s.instruction)), 'the install step came from the cache').toMatchObject({ cached: true });
        expect(second.find((s) => s.instruction === 'COPY . .'), 'the source copy ran again').toMatchObject({ cached: false });
        c.check(await runImage(tag, c.runEnv), 'v2');
      },
      900_000,
    );
  }
});

import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { initProject } from '../../../src/init/init.js';
import { copyLines } from '../../../src/init/render-common.js';
import { nodeCommands } from '../../../src/init/render-node.js';
import { cleanProjects, FIXTURES, indexOf, instructions, pkg, project, stages, type Instruction } from './helpers.js';

afterAll(cleanProjects);

/** Renders without writing; the generated Dockerfile must also satisfy imgtool's planner. */
const render = async (dir: string) => {
  const result = await initProject(dir, { write: false });
  expect(result.planWarnings).toEqual([]);
  return result.output;
};

/** ARG defaults declared before the first FROM. */
function globalArgs(dockerfile: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ins of instructions(dockerfile)) {
    if (ins.keyword === 'FROM') break;
    if (ins.keyword === 'ARG') {
      const [name = '', value = ''] = ins.rest.split('=');
      out[name] = value;
    }
  }
  return out;
}

/** Properties every generated Dockerfile must have, whatever the project. */
function expectGoodPractice(dockerfile: string): void {
  const all = instructions(dockerfile);
  const args = globalArgs(dockerfile);
  const froms = all.filter((i) => i.keyword === 'FROM');
  expect(froms.length).toBeGreaterThanOrEqual(2); // multi-stage
  for (const from of froms) {
    // Every base image is an ARG with a pinned, non-latest tag.
    const arg = /^\$\{(\w+)\}/.exec(from.rest)?.[1];
    expect(arg, from.rest).toBeDefined();
    const image = args[arg ?? ''];
    expect(image, `ARG ${arg}`).toMatch(/^[\w./-]+:[\w.-]+$/);
    expect(image).not.toMatch(/:latest$/);
  }
  const final = stages(dockerfile).at(-1) ?? [];
  const user = final.filter((i) => i.keyword === 'USER').at(-1);
  expect(user?.rest).toBeDefined();
  expect(user?.rest).not.toMatch(/^(root|0)(:|$)/);
  const start = final.filter((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT').at(-1);
  expect(() => JSON.parse(start?.rest ?? '')).not.toThrow(); // exec form
  expect(all.some((i) => i.keyword === 'ADD')).toBe(false);
  for (const w of all.filter((i) => i.keyword === 'WORKDIR')) expect(w.rest.startsWith('/')).toBe(true);
}

/** In `stage`, the install RUN comes after copying the manifests and before copying the source. */
function expectInstallBeforeSource(stage: readonly Instruction[], install: RegExp, manifests: RegExp): void {
  const copyManifests = indexOf(stage, 'COPY', manifests);
  const run = indexOf(stage, 'RUN', install);
  const copyAll = indexOf(stage, 'COPY', /^\. \.$/);
  expect(copyManifests).toBeGreaterThan(0);
  expect(run).toBeGreaterThan(copyManifests);
  if (copyAll !== -1) expect(copyAll).toBeGreaterThan(run);
}

describe('Node Dockerfiles', () => {
  it('pure-JS app: deps stage installs production deps from the manifests only; slim builder', async () => {
    const { dockerfile, dockerignore } = await render(join(FIXTURES, 'node-pure'));
    expectGoodPractice(dockerfile);
    expect(globalArgs(dockerfile)).toEqual({ NODE_IMAGE: 'node:20.18-bookworm-slim', NODE_BUILD_IMAGE: 'node:20.18-bookworm-slim' });
    const [deps = [], runtime = []] = stages(dockerfile);
    expect(deps[0]?.rest).toBe('${NODE_BUILD_IMAGE} AS deps');
    expectInstallBeforeSource(deps, /^npm ci --omit=dev/, /^package\.json package-lock\.json \.\/$/);
    expect(indexOf(deps, 'COPY', /^vendor\/devtool-1\.0\.0\.tgz vendor\/greet-1\.0\.0\.tgz vendor\/$/)).toBeGreaterThan(0);
    expect(indexOf(deps, 'COPY', /^\. \.$/)).toBe(-1);
    expect(runtime.map((i) => `${i.keyword} ${i.rest}`)).toEqual([
      'FROM ${NODE_IMAGE} AS runtime',
      'ENV NODE_ENV=production',
      'WORKDIR /app',
      'COPY --from=deps /app ./',
      'COPY . .',
      'USER node',
      'CMD ["node", "server.js"]',
    ]);
    // The comments explain the choices.
    expect(dockerfile).toMatch(/# .*package manager: npm \(package-lock\.json\)/);
    expect(dockerfile).toMatch(/# .*1 production, 1 development/);
    for (const pattern of ['**/node_modules', '.git', '**/.env', '**/.env.*', '**/*.pem', '**/*.key', '**/.npmrc']) {
      expect(dockerignore.split('\n')).toContain(pattern);
    }
  });

  it('native addon: the builder is the full image with the toolchain, the runtime stays slim', async () => {
    const { dockerfile } = await render(join(FIXTURES, 'node-native'));
    expectGoodPractice(dockerfile);
    expect(globalArgs(dockerfile)).toEqual({ NODE_IMAGE: 'node:20.18.0-bookworm-slim', NODE_BUILD_IMAGE: 'node:20.18.0-bookworm' });
    expect(dockerfile).toMatch(/python3, make and g\+\+/);
    expect(dockerfile).toMatch(/addon@1\.0\.0 builds at install time/);
  });

  it('workspace: each workspace manifest is copied before the install', async () => {
    const { dockerfile } = await render(join(FIXTURES, 'node-workspace'));
    expectGoodPractice(dockerfile);
    const [deps = []] = stages(dockerfile);
    const install = indexOf(deps, 'RUN', /^npm ci/);
    expect(indexOf(deps, 'COPY', /^packages\/api\/package\.json packages\/api\/$/)).toBeLessThan(install);
    expect(indexOf(deps, 'COPY', /^packages\/lib\/package\.json packages\/lib\/$/)).toBeLessThan(install);
    expect(dockerfile).toContain('CMD ["node", "packages/api/server.js"]');
  });

  it('build step: one build stage installs everything, builds, prunes; the output dir is ignored', async () => {
    const dir = project({
      'package.json': pkg({ name: 'ts-app', scripts: { build: 'tsc', start: 'node dist/main.js' }, devDependencies: { typescript: '5' } }),
      'package-lock.json': pkg({ name: 'ts-app', lockfileVersion: 3, requires: true, packages: { '': { name: 'ts-app', devDependencies: { typescript: '5' } } } }),
      'tsconfig.json': '{"compilerOptions":{"outDir":"dist"}}',
    });
    const { dockerfile, dockerignore } = await render(dir);
    expectGoodPractice(dockerfile);
    const [build = [], runtime = []] = stages(dockerfile);
    expect(build[0]?.rest).toBe('${NODE_BUILD_IMAGE} AS build');
    expectInstallBeforeSource(build, /^npm ci --no-audit/, /^package\.json package-lock\.json/);
    const copyAll = indexOf(build, 'COPY', /^\. \.$/);
    expect(indexOf(build, 'RUN', /^npm run build$/)).toBeGreaterThan(copyAll);
    expect(indexOf(build, 'RUN', /^npm prune --omit=dev/)).toBeGreaterThan(indexOf(build, 'RUN', /^npm run build$/));
    expect(indexOf(runtime, 'COPY', /^--from=build \/app \.\/$/)).toBeGreaterThan(0);
    expect(dockerignore.split('\n')).toContain('dist');
  });

  it('mentions a BuildKit secret mount when .npmrc exists', async () => {
    const dir = project({ 'package.json': pkg({ name: 'n', main: 'a.js' }), 'a.js': '', '.npmrc': 'x' });
    const { dockerfile } = await render(dir);
    expect(dockerfile).toMatch(/#\s+RUN --mount=type=secret,id=npmrc,target=\/root\/\.npmrc npm install --omit=dev/);
  });

  it('uses each package manager’s production install', () => {
    expect(nodeCommands('npm', true).installProd).toBe('npm ci --omit=dev --no-audit --no-fund');
    expect(nodeCommands('npm', false).installProd).toBe('npm install --omit=dev --no-audit --no-fund');
    expect(nodeCommands('yarn', true).installProd).toBe('yarn install --frozen-lockfile --production=true --non-interactive');
    expect(nodeCommands('yarn-berry', true).installProd).toBe('corepack enable && yarn workspaces focus --all --production');
    expect(nodeCommands('pnpm', true).installProd).toBe('corepack enable && pnpm install --frozen-lockfile --prod');
  });
});

describe('Go Dockerfiles', () => {
  it('static module: download before the source, trimmed static build, distroless static, uid 65532', async () => {
    const { dockerfile, dockerignore } = await render(join(FIXTURES, 'go-server'));
    expectGoodPractice(dockerfile);
    expect(globalArgs(dockerfile)).toEqual({ GO_IMAGE: 'golang:1.22-bookworm', RUNTIME_IMAGE: 'gcr.io/distroless/static-debian12:nonroot' });
    const [build = [], runtime = []] = stages(dockerfile);
    expect(indexOf(build, 'ENV', /^CGO_ENABLED=0$/)).toBeGreaterThan(0);
    expectInstallBeforeSource(build, /^go mod download$/, /^go\.mod \.\/$/);
    expect(indexOf(build, 'RUN', /^go build -trimpath -ldflags="-s -w" -o \/out\/server \.\/cmd\/server$/)).toBeGreaterThan(indexOf(build, 'COPY', /^\. \.$/));
    expect(runtime.map((i) => `${i.keyword} ${i.rest}`)).toEqual([
      'FROM ${RUNTIME_IMAGE} AS runtime',
      'COPY --from=build /out/server /usr/local/bin/server',
      'USER 65532:65532',
      'ENTRYPOINT ["/usr/local/bin/server"]',
    ]);
    expect(dockerfile).toMatch(/chosen from \.\/cmd\/migrate, \.\/cmd\/server/);
    for (const pattern of ['.git', '**/.env', '**/*.pem', 'bin']) expect(dockerignore.split('\n')).toContain(pattern);
  });

  it('cgo module: CGO_ENABLED=1 onto distroless base (glibc)', async () => {
    const { dockerfile } = await render(join(FIXTURES, 'go-cgo'));
    expectGoodPractice(dockerfile);
    expect(globalArgs(dockerfile)['RUNTIME_IMAGE']).toBe('gcr.io/distroless/base-debian12:nonroot');
    expect(dockerfile).toMatch(/^ENV CGO_ENABLED=1$/m);
    expect(dockerfile).toMatch(/^RUN go build -trimpath -ldflags="-s -w" -o \/out\/cgo \.$/m);
  });

  it('copies go.sum and local replace targets before the download; vendored modules skip it', async () => {
    const withSum = project({ 'go.mod': 'module example.com/a\n\ngo 1.22\n\nreplace example.com/u => ./util\n', 'go.sum': '', 'main.go': 'package main\nfunc main() {}\n', 'util/u.go': 'package u\n' });
    const { dockerfile } = await render(withSum);
    expect(dockerfile).toMatch(/^COPY go\.mod go\.sum \.\/\nCOPY util util\/\nRUN go mod download$/m);
    const vendored = project({ 'go.mod': 'module example.com/v\n\ngo 1.22\n', 'vendor/modules.txt': '', 'main.go': 'package main\nfunc main() {}\n' });
    const out = await render(vendored);
    expect(out.dockerfile).not.toMatch(/go mod download/);
    expect(out.dockerfile).toMatch(/vendored/);
  });
});

describe('copyLines', () => {
  it('groups files by directory, gives directories their own line, uses JSON form for spaces', () => {
    expect(copyLines(['package.json', 'yarn.lock', 'a/b/package.json', '.yarn/releases/', 'my dir/x.tgz'])).toBe(
      ['COPY package.json yarn.lock ./', 'COPY a/b/package.json a/b/', 'COPY ["my dir/x.tgz","my dir/"]', 'COPY .yarn/releases .yarn/releases/'].join('\n'),
    );
  });
});

describe('lintGenerated', () => {
  it('reports what the planner finds, so a template regression cannot pass silently', async () => {
    const { lintGenerated } = await import('../../../src/init/init.js');
    const codes = lintGenerated({ dockerfile: 'FROM node\nWORKDIR app\nCMD node server.js\n', dockerignore: '', summary: [] }).map((w) => w.code);
    expect(codes).toEqual(expect.arrayContaining(['IMG001', 'IMG004', 'IMG006']));
  });
});

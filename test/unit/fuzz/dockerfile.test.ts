/**
 * Fuzzing the Dockerfile planner (issue 7): mutated real Dockerfiles through `planBuild` with
 * random options, then the planned COPY sources through `matchContextSources`. Every case must
 * end in a plan or an ImgtoolError (DOCKERFILE_*), never a crash or a hang.
 */
import { describe, expect, it } from 'vitest';
import { planBuild, matchContextSources } from '../../../src/build/plan/index.js';
import type { PlanBuildOptions } from '../../../src/build/plan/types.js';
import { CONTEXT_PATHS, DOCKERFILES, DOCKERFILE_LINES } from './corpus.js';
import { fuzz, mutateLines, nastyText, type Rng, isReplay } from './support.js';

const PLATFORMS = ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7', 'windows/amd64', 'linux', '', '/', 'a/b/c/d', 'linux/${X}'];

function generate(rng: Rng): PlanBuildOptions {
  let text = rng.pick(DOCKERFILES);
  const rounds = rng.chance(0.7) ? 1 : 2;
  // Huge lines stay under 40 kB: the planner is linear but dockerfile-ast costs ~10 µs a byte.
  for (let i = 0; i < rounds; i++) text = mutateLines(rng, text, DOCKERFILE_LINES, 40_000);
  const buildArgs: Record<string, string | undefined> = {};
  for (let i = rng.int(4); i > 0; i--) {
    buildArgs[rng.pick(['GO_VERSION', 'NODE_IMAGE', 'BASE', 'VERSION', 'TARGETARCH', 'HTTP_PROXY', nastyText(rng, 2)])] = rng.chance(0.2) ? undefined : nastyText(rng, 3);
  }
  const stageNames = [...text.matchAll(/\bAS\s+(\S+)/gi)].map((m) => m[1] ?? '');
  return {
    dockerfileText: text,
    dockerfilePath: rng.pick(['Dockerfile', '-', 'sub dir/Dockerfile.prod']),
    ...(rng.chance(0.3) ? { target: rng.chance(0.9) && stageNames.length ? rng.pick(stageNames) : nastyText(rng, 2) } : {}),
    ...(rng.chance(0.5) ? { buildArgs } : {}),
    ...(rng.chance(0.2) ? { platform: rng.pick(PLATFORMS) } : {}),
    ...(rng.chance(0.3) ? { buildPlatform: rng.pick(PLATFORMS) } : {}),
    ...(rng.chance(0.3) ? { baseImageEnv: { 'alpine:3.19': ['PATH=/usr/bin', 'VALUE=1', 'BROKEN'], [nastyText(rng, 2)]: [nastyText(rng, 2)] } } : {}),
    ...(rng.chance(0.3) ? { contextInfo: { hasDockerignore: rng.chance(0.5), totalBytes: rng.int(1e9) } } : {}),
    ...(rng.chance(0.5) ? { contextPaths: CONTEXT_PATHS } : {}),
    ...(rng.chance(0.3) ? { builder: rng.pick(['classic', 'buildkit'] as const) } : {}),
  };
}

function run(options: PlanBuildOptions): void {
  const plan = planBuild(options);
  for (const read of plan.contextReads) matchContextSources(read.sources, CONTEXT_PATHS);
}

describe('fuzz: Dockerfile planner', () => {
  it('mutated Dockerfiles end in a plan or an ImgtoolError', async () => {
    const report = await fuzz({ name: 'dockerfile', seed: 0x0d0cf11e, cases: 3000, generate, run, describe: (o) => JSON.stringify(o.dockerfileText) });
    // Sanity: the mutations must leave many inputs valid (deep coverage) and make many invalid.
    if (!isReplay()) expect(report.ok).toBeGreaterThan(report.cases / 10);
    if (!isReplay()) expect(Object.keys(report.errors).length).toBeGreaterThan(0);
  }, 300_000);
});

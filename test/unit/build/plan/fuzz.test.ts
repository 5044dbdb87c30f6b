/**
 * Seeded, bounded fuzzing of the planner: mutated real-world Dockerfiles must end in a plan or
 * an ImgtoolError (DOCKERFILE_* / USAGE), never another exception. Same seed, same cases.
 */
import { describe, expect, it } from 'vitest';
import { ImgtoolError } from '../../../../src/image/errors.js';
import { matchContextSources, planBuild } from '../../../../src/build/plan/index.js';

const SEEDS = [
  [
    '# syntax=docker/dockerfile:1',
    '# escape=\\',
    'ARG GO=1.22 BASE="alpine:3.19"',
    'FROM --platform=$BUILDPLATFORM golang:${GO} AS build',
    'ARG TARGETOS TARGETARCH',
    'WORKDIR /src',
    'COPY --link go.mod go.sum ./',
    'RUN --mount=type=cache,target=/root/.cache/go-build \\',
    '    --mount=type=bind,source=.,target=/src,rw \\',
    '    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app',
    'RUN <<EOF',
    'set -e',
    'echo "${HOME:-x}"',
    'EOF',
    'FROM ${BASE} AS runtime',
    'COPY --from=build --chown=65534:65534 --chmod=0755 /out/app /usr/local/bin/app',
    'COPY <<-"CONF" /etc/app.conf',
    '\tkey=$value',
    '\tCONF',
    'ENV APP_ENV=prod PORT=8080 LABEL_X="a b"',
    'LABEL org.opencontainers.image.title="app" version=${VERSION:-dev}',
    'EXPOSE $PORT/tcp',
    'USER 65534:65534',
    'HEALTHCHECK --interval=30s CMD ["/usr/local/bin/app", "health"]',
    'ONBUILD COPY . /app',
    'STOPSIGNAL SIGTERM',
    'VOLUME ["/data"]',
    'SHELL ["/bin/sh", "-c"]',
    'ENTRYPOINT ["/usr/local/bin/app"]',
    'CMD ["serve"]',
    '',
  ].join('\n'),
  [
    'FROM node:20.18-slim AS deps',
    'WORKDIR /app',
    'COPY package.json package-lock.json ./',
    "RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*",
    'RUN npm ci --omit=dev',
    'FROM deps AS build',
    'COPY . .',
    'RUN npm run build',
    'FROM node:20.18-slim',
    'ENV NODE_ENV=production',
    'COPY --from=deps /app/node_modules ./node_modules',
    'COPY --from=1 /app/dist ./dist',
    'ADD https://example.com/file.tgz /tmp/',
    'CMD ["node", "dist/main.js"]',
    '',
  ].join('\n'),
];

const TOKENS = ['\\', '`', '$', '${', '}', '"', "'", '<<', '<<EOF', 'EOF', '\n', ' ', '\t', '=', '--', '--from=', '--mount=', ',', '[', ']', '#', '*', '?', ':', '-', '+', '/', '..', 'AS', 'FROM', 'COPY', 'RUN', 'ARG', 'ENV', 'ONBUILD', '\r', '\u00e9', '\uFEFF'];

/** mulberry32: a tiny deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(text: string, r: () => number): string {
  let s = text;
  const n = 1 + Math.floor(r() * 6);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(r() * (s.length + 1));
    const op = r();
    if (op < 0.4) s = s.slice(0, at) + (TOKENS[Math.floor(r() * TOKENS.length)] ?? '') + s.slice(at);
    else if (op < 0.7) s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 8));
    else if (op < 0.85) {
      const lines = s.split('\n');
      const a = Math.floor(r() * lines.length);
      const b = Math.floor(r() * lines.length);
      [lines[a], lines[b]] = [lines[b] ?? '', lines[a] ?? ''];
      s = lines.join('\n');
    } else s = s.slice(0, at) + s.slice(Math.floor(r() * s.length), Math.floor(r() * s.length)) + s.slice(at);
  }
  return s;
}

describe('planner fuzz', () => {
  it('3000 mutated Dockerfiles end in a plan or an ImgtoolError', () => {
    const r = rng(20240613);
    let plans = 0;
    let errors = 0;
    for (let i = 0; i < 3000; i++) {
      const text = mutate(SEEDS[i % SEEDS.length] as string, r);
      try {
        const p = planBuild({ dockerfileText: text, dockerfilePath: 'Dockerfile', buildArgs: { GO: '1.21', X: undefined }, platform: 'linux/arm64', contextPaths: ['go.mod', '.env', 'src/a.go'] });
        // The plan is JSON-serialisable and its sources resolve without throwing.
        JSON.stringify(p);
        for (const read of p.contextReads) matchContextSources(read.sources, ['go.mod', 'src/a.go', 'a*b[']);
        plans++;
      } catch (err) {
        if (!(err instanceof ImgtoolError)) throw new Error(`case ${i} threw ${String(err)}\n---\n${text}`);
        expect(err.code).toMatch(/^(DOCKERFILE_SYNTAX|DOCKERFILE_INVALID|USAGE)$/);
        expect(err.message).toMatch(/^Dockerfile/);
        errors++;
      }
    }
    // Both outcomes are exercised (a fuzz run that only ever fails early tests nothing).
    expect(plans).toBeGreaterThan(300);
    expect(errors).toBeGreaterThan(300);
  });
});

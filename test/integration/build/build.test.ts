/**
 * `imgtool build` against the private dockerd (Engine 20.10), with both builders: classic
 * (API version=1) and BuildKit (version=2, progress decoded from protobuf traces).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerCli } from '../../world/base-image.js';
import { world } from '../../world/world.js';
import { fixture, imgtool, startStandInEngine } from './helpers.js';

const builders = ['classic', 'buildkit'] as const;
// The world's dockerd runs with --bridge=none: RUN steps use no network (BuildKit would
// otherwise fail with "network bridge not found").
const NET = ['--network', 'none'];

function inspect(ref: string): { Id: string; Config: { Labels: Record<string, string> | null; Env: string[] } } {
  const out = dockerCli(world().docker.host, ['image', 'inspect', ref]);
  return (JSON.parse(out) as Array<{ Id: string; Config: { Labels: Record<string, string> | null; Env: string[] } }>)[0] as never;
}

describe.each(builders)('imgtool build (%s)', (builder) => {
  it('builds, tags, and prints only the image id; build args and labels are in docker inspect', async () => {
    const w = world();
    const ctx = fixture({
      'Dockerfile': [
        `FROM ${w.baseImage}`,
        'ARG VERSION=0.0',
        'ARG FROM_ENV',
        'COPY app.txt /app/app.txt',
        'RUN cat /app/app.txt > /app/copy.txt',
        'LABEL version=$VERSION from_env=$FROM_ENV',
        '',
      ].join('\n'),
      'app.txt': `hello ${builder}\n`,
      'unused/big.bin': Buffer.alloc(512 * 1024, 1),
    });
    const tag = `imgtool-build-test/args-${builder}:1`;
    const r = await imgtool(
      ['build', ...NET, '--builder', builder, '-t', tag, '--build-arg', 'VERSION=1.2', '--build-arg', 'FROM_ENV', '--label', 'team=core', '--progress', 'plain', ctx],
      { env: { DOCKER_HOST: w.docker.host, FROM_ENV: 'from-the-environment' } },
    );
    expect(r.stderr).not.toMatch(/imgtool: /);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const img = inspect(tag);
    expect(img.Id).toBe(r.stdout.trim());
    expect(img.Config.Labels).toMatchObject({ team: 'core', version: '1.2', from_env: 'from-the-environment' });
    expect(dockerCli(w.docker.host, ['run', '--rm', '--network', 'none', tag, 'cat', '/app/copy.txt'])).toBe(`hello ${builder}\n`);
    // Progress went to stderr, with the steps decoded (BuildKit traces are protobuf, not raw base64).
    expect(r.stderr).toMatch(/COPY app\.txt \/app\/app\.txt/);
    expect(r.stderr).not.toMatch(/moby\.buildkit\.trace/);
    expect(r.stderr).toContain('minimal context');
  });

  it('fails a RUN with exit 1, naming the step, its output and the daemon message', async () => {
    const w = world();
    const ctx = fixture({
      Dockerfile: `FROM ${w.baseImage}\nRUN echo first-line && echo about-to-fail >&2 && exit 3\n`,
    });
    const r = await imgtool(['build', ...NET, '--builder', builder, '--progress', 'quiet', ctx], { env: { DOCKER_HOST: w.docker.host } });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('the build failed at step');
    expect(r.stderr).toContain('RUN echo first-line');
    expect(r.stderr).toContain('about-to-fail');
    // The daemon's own message: classic "returned a non-zero code: 3", BuildKit "exit code: 3".
    expect(r.stderr).toMatch(/non-zero code: 3|exit code: 3/);
  });

  it('builds only what --target needs, skipping a broken stage', async () => {
    const w = world();
    // The classic builder runs every stage up to the target, so there the broken stage comes after it.
    const broken = 'FROM ${BASE} AS broken\nRUN echo this stage is broken && exit 42\n';
    const good = 'FROM ${BASE} AS good\nRUN echo good > /good\n';
    const text = (builder === 'classic' ? good + broken : broken + good).replaceAll('${BASE}', w.baseImage);
    const ctx = fixture({ Dockerfile: text });
    const tag = `imgtool-build-test/target-${builder}:1`;
    const r = await imgtool(['build', ...NET, '--builder', builder, '--target', 'good', '-t', tag, '--progress', 'plain', ctx], { env: { DOCKER_HOST: w.docker.host } });
    expect(r.stderr).not.toContain('this stage is broken');
    expect(r.code).toBe(0);
    expect(dockerCli(w.docker.host, ['run', '--rm', '--network', 'none', tag, 'cat', '/good'])).toBe('good\n');
  });

  it('reads the Dockerfile from stdin (-f -) and from outside the context, and writes --iidfile/--metadata-file', async () => {
    const w = world();
    const ctx = fixture({ 'data.txt': 'data\n', 'skip/me.bin': Buffer.alloc(64 * 1024, 2) });
    const outside = fixture({ 'build.Dockerfile': `FROM ${w.baseImage}\nCOPY data.txt /data.txt\n` });
    const iid = join(outside, 'iid');
    const meta = join(outside, 'meta.json');
    const a = await imgtool(['build', '--builder', builder, '-f', join(outside, 'build.Dockerfile'), '--iidfile', iid, '--metadata-file', meta, '--progress', 'quiet', ctx], {
      env: { DOCKER_HOST: w.docker.host },
    });
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(readFileSync(iid, 'utf8')).toBe(a.stdout.trim());
    const metadata = JSON.parse(readFileSync(meta, 'utf8')) as Record<string, unknown>;
    expect(metadata).toMatchObject({ imageId: a.stdout.trim(), tags: [], contextMode: 'minimal', builder });
    // data.txt and the injected Dockerfile and .dockerignore: a few KB, not the 64 KiB file.
    expect(metadata['contextBytes']).toBeLessThan(16 * 1024);
    expect(typeof metadata['durationMs']).toBe('number');

    const b = await imgtool(['build', '--builder', builder, '-f', '-', '--progress', 'quiet', ctx], {
      env: { DOCKER_HOST: w.docker.host },
      stdin: `FROM ${w.baseImage}\nCOPY data.txt /from-stdin.txt\n`,
    });
    expect(b.code).toBe(0);
    const id = b.stdout.trim();

    // --json prints the same facts as --metadata-file on stdout instead of the bare ID.
    const c = await imgtool(['build', '--builder', builder, '-f', join(outside, 'build.Dockerfile'), '--progress', 'quiet', '--json', ctx], {
      env: { DOCKER_HOST: w.docker.host },
    });
    expect(c.code).toBe(0);
    expect(JSON.parse(c.stdout)).toMatchObject({ imageId: a.stdout.trim(), tags: [], contextMode: 'minimal', builder });
    expect(dockerCli(w.docker.host, ['run', '--rm', '--network', 'none', id, 'cat', '/from-stdin.txt'])).toBe('data\n');
    // The injected Dockerfile is hidden from the build (named in .dockerignore, as the docker CLI does).
    expect(dockerCli(w.docker.host, ['run', '--rm', '--network', 'none', id, 'ls', '/'])).not.toContain('.dockerfile');
  });
});

describe('imgtool build errors before any request', () => {
  it('exits 2 on a Dockerfile syntax error without calling the engine', async () => {
    const engine = await startStandInEngine();
    try {
      const ctx = fixture({ Dockerfile: 'FROM busybox\nCOPY only-one-argument\n' });
      const r = await imgtool(['build', ctx], { env: { DOCKER_HOST: engine.host } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/Dockerfile:2/);
      expect(engine.requests).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it('exits 2 on a bad .dockerignore pattern, naming file:line, without calling the engine', async () => {
    const engine = await startStandInEngine();
    try {
      const ctx = fixture({ 'Dockerfile': 'FROM busybox\n', '.dockerignore': 'node_modules\n[-]\n' });
      const r = await imgtool(['build', ctx], { env: { DOCKER_HOST: engine.host } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('.dockerignore:2');
      expect(engine.requests).toEqual([]);
    } finally {
      await engine.close();
    }
  });

  it('exits 2 on an invalid tag without calling the engine', async () => {
    const engine = await startStandInEngine();
    try {
      const ctx = fixture({ Dockerfile: 'FROM busybox\n' });
      const r = await imgtool(['build', '-t', 'Bad:Tag:x', ctx], { env: { DOCKER_HOST: engine.host } });
      expect(r.code).toBe(2);
      expect(engine.requests).toEqual([]);
    } finally {
      await engine.close();
    }
  });
});

describe('imgtool build cancellation', () => {
  it('Ctrl-C closes the request and the daemon stops the build', async () => {
    const w = world();
    const marker = `imgtool-cancel-${Date.now()}`;
    const ctx = fixture({ Dockerfile: `FROM ${w.baseImage}\nRUN echo ${marker} && sleep 120\n` });
    const controller = new AbortController();
    const running = imgtool(['build', '--builder', 'classic', '--no-cache', '--progress', 'quiet', ctx], {
      env: { DOCKER_HOST: w.docker.host },
      signal: controller.signal,
    });
    const sleeping = (): boolean => dockerCli(w.docker.host, ['ps', '--no-trunc', '--format', '{{.Command}}']).includes(marker);
    // Wait until the RUN container exists, then interrupt.
    for (let i = 0; i < 600 && !sleeping(); i++) await new Promise((r) => setTimeout(r, 100));
    expect(sleeping()).toBe(true);
    controller.abort(new Error('SIGINT'));
    const r = await running;
    expect(r.code).toBe(130);
    // The daemon notices the closed connection and removes the build container.
    for (let i = 0; i < 600 && sleeping(); i++) await new Promise((res) => setTimeout(res, 100));
    expect(sleeping()).toBe(false);
  });
});

describe('registry credentials for the build', () => {
  it('sends X-Registry-Config from config.json so the classic builder can pull a private base', async () => {
    const w = world();
    const privateBase = `${w.basic.host}/imgtool-build/private-base:1`;
    const dockerConfig = fixture({
      'config.json': JSON.stringify({ auths: { [w.basic.host]: { auth: Buffer.from(`${w.basic.username}:${w.basic.password}`).toString('base64') } } }),
    });
    dockerCli(w.docker.host, ['tag', w.baseImage, privateBase]);
    dockerCli(w.docker.host, ['push', privateBase], undefined, { DOCKER_CONFIG: dockerConfig });
    dockerCli(w.docker.host, ['rmi', privateBase]);
    const ctx = fixture({ Dockerfile: `FROM ${privateBase}\nRUN echo pulled\n` });
    const anonymous = await imgtool(['build', '--builder', 'classic', '--progress', 'quiet', ctx], { env: { DOCKER_HOST: w.docker.host } });
    expect(anonymous.code).toBe(1);
    const r = await imgtool(['build', '--builder', 'classic', '--progress', 'quiet', ctx], { env: { DOCKER_HOST: w.docker.host, DOCKER_CONFIG: dockerConfig } });
    expect(r.stderr).not.toMatch(/imgtool: /);
    expect(r.code).toBe(0);
    // The base was not local: the full context is sent, and the reason said on stderr.
    expect(r.stderr).toContain('is not present in the engine');
    for (const secret of w.secrets) expect(r.stderr + r.stdout).not.toContain(secret);
  });
});

describe('ONBUILD triggers of a base image', () => {
  it('sends the full context and says why, so the triggers see every file', async () => {
    const w = world();
    const base = 'imgtool-build-test/onbuild-base:1';
    const baseCtx = fixture({ Dockerfile: `FROM ${w.baseImage}\nONBUILD COPY . /onbuild-ctx/\n` });
    dockerCli(w.docker.host, ['build', '-q', '-t', base, baseCtx]);
    const ctx = fixture({ 'Dockerfile': `FROM ${base}\nCOPY one.txt /one.txt\n`, 'one.txt': '1\n', 'other/two.txt': '2\n' });
    for (const builder of builders) {
      const r = await imgtool(['build', ...NET, '--builder', builder, '--progress', 'quiet', ctx], { env: { DOCKER_HOST: w.docker.host } });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`the base image ${base} has ONBUILD triggers`);
      expect(dockerCli(w.docker.host, ['run', '--rm', '--network', 'none', r.stdout.trim(), 'cat', '/onbuild-ctx/other/two.txt'])).toBe('2\n');
    }
  });
});

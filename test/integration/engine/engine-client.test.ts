/**
 * The Engine API client against the real private dockerds of the test world (Engine 20.10,
 * API 1.41): unix socket, tcp + TLS (--tlsverify), contexts created by the docker CLI peer,
 * version negotiation and pinning, a failing build (an error inside an HTTP 200 stream), a 404.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { create as createTar } from 'tar';
import { afterAll, describe, expect, it } from 'vitest';
import { connectEngine, type ConnectEngineOptions, type EngineClient } from '../../../src/engine/client.js';
import { contextDirName } from '../../../src/engine/endpoint.js';
import { encodeRegistryHeader } from '../../../src/engine/headers.js';
import type { JsonMessage } from '../../../src/engine/types.js';
import { ImgtoolError } from '../../../src/image/errors.js';
import { dockerCli, DOCKER_CLI } from '../../world/base-image.js';
import { world } from '../../world/world.js';

const clients: EngineClient[] = [];
afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
});

/** A scratch dir under the world's tmp (short paths: sockets live there too). */
function scratch(prefix: string): string {
  return mkdtempSync(join(world().tmp, prefix));
}

/** An env with nothing from the machine that could choose another daemon. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: scratch('h-'), DOCKER_CONFIG: scratch('c-'), ...extra };
}

async function connect(options: Partial<ConnectEngineOptions> & { env: Record<string, string> }): Promise<EngineClient> {
  const c = await connectEngine(options);
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<ImgtoolError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImgtoolError);
  return err as ImgtoolError;
}

async function collect(it: AsyncIterable<JsonMessage>): Promise<{ messages: JsonMessage[]; error: ImgtoolError | undefined }> {
  const messages: JsonMessage[] = [];
  try {
    for await (const m of it) messages.push(m);
    return { messages, error: undefined };
  } catch (error) {
    if (!(error instanceof ImgtoolError)) throw error;
    return { messages, error };
  }
}

/** A build context tar (made with the `tar` package) holding just `Dockerfile`. */
function contextTar(dockerfile: string): AsyncIterable<Uint8Array> {
  const dir = scratch('ctx-');
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return createTar({ cwd: dir, portable: true }, ['Dockerfile']) as unknown as AsyncIterable<Uint8Array>;
}

const uniq = (): string => randomBytes(4).toString('hex');

describe('unix socket', () => {
  it('pings, negotiates API 1.41 and reads /version and /info', async () => {
    const w = world();
    const c = await connect({ env: cleanEnv({ DOCKER_HOST: w.docker.host }) });
    expect(c.endpoint).toMatchObject({ host: w.docker.host, scheme: 'unix', source: 'DOCKER_HOST' });
    const ping = await c.ping();
    expect(ping.apiVersion).toBe('1.41');
    expect(ping.osType).toBe('linux');
    expect(await c.apiVersion()).toBe('1.41');
    const v = await c.version();
    expect(v.ApiVersion).toBe('1.41');
    expect(v.Version).toMatch(/^20\.10\./);
    const info = await c.info();
    expect(info.OSType).toBe('linux');
  });

  it('inspects and lists the history of the base image, consistently with the docker CLI', async () => {
    const w = world();
    const c = await connect({ env: cleanEnv(), host: w.docker.host });
    const img = await c.imageInspect(w.baseImage);
    const cliId = dockerCli(w.docker.host, ['image', 'inspect', '--format', '{{.Id}}', w.baseImage]).trim();
    expect(img.Id).toBe(cliId);
    expect(img.RepoTags).toContain(w.baseImage);
    expect(img.RootFS.Type).toBe('layers');
    const history = await c.imageHistory(w.baseImage);
    expect(history[0]?.Id).toBe(cliId);
    expect(history.some((h) => h.CreatedBy.includes('COPY'))).toBe(true);
  });

  it('a missing image is a non-streamed 404: ENGINE_NOT_FOUND with the status and the daemon message', async () => {
    const c = await connect({ env: cleanEnv(), host: world().docker.host });
    const err = await failure(c.imageInspect('imgtool-test/does-not-exist:nope'));
    expect(err.code).toBe('ENGINE_NOT_FOUND');
    expect(err.details.status).toBe(404);
    // dockerd 20.10's message is "no such image: X: No such image: X"; it is passed on verbatim.
    expect(err.message).toMatch(/^image inspect failed: .*No such image: imgtool-test\/does-not-exist:nope$/);
    expect(err.details.reference).toBe('imgtool-test/does-not-exist:nope');
  });

  it('a failing RUN is an error inside the HTTP 200 stream: ENGINE_STREAM with the exit code, after the steps before it', async () => {
    const w = world();
    const c = await connect({ env: cleanEnv(), host: w.docker.host });
    const { messages, error } = await collect(c.build(contextTar(`FROM ${w.baseImage}\nRUN exit 3\n`), { version: '1', rm: true, forceRm: true }));
    const text = messages.map((m) => m.stream ?? '').join('');
    expect(text).toContain('Step 1/2 : FROM imgtool-test/busybox:1.0');
    expect(text).toContain('Step 2/2 : RUN exit 3');
    expect(error?.code).toBe('ENGINE_STREAM');
    expect(error?.message).toBe("The command '/bin/sh -c exit 3' returned a non-zero code: 3");
    expect(error?.details['code']).toBe(3);
  });

  it('a failing RUN with BuildKit (version=2) is an ENGINE_STREAM error too', async () => {
    const w = world();
    const c = await connect({ env: cleanEnv(), host: w.docker.host });
    // The world's daemons run with --bridge=none, so BuildKit RUN steps need networkmode none/host.
    const { messages, error } = await collect(c.build(contextTar(`FROM ${w.baseImage}\nRUN exit 3\n`), { version: '2', networkMode: 'none' }));
    expect(messages.some((m) => m.id === 'moby.buildkit.trace')).toBe(true);
    expect(error?.code).toBe('ENGINE_STREAM');
    expect(error?.message).toMatch(/exit code: 3/);
  });

  it('aborting a build closes the connection and the daemon stops and removes the RUN container', async () => {
    const w = world();
    const c = await connect({ env: cleanEnv(), host: w.docker.host });
    const ac = new AbortController();
    let container: string | undefined;
    const { error } = await collect(
      (async function* () {
        for await (const m of c.build(contextTar(`FROM ${w.baseImage}\nRUN sleep 600\n`), { version: '1', rm: true, forceRm: true }, {}, ac.signal)) {
          const running = /Running in ([0-9a-f]{12})/.exec(m.stream ?? '');
          if (running) {
            container = running[1];
            ac.abort();
          }
          yield m;
        }
      })(),
    );
    expect(error?.code).toBe('ABORTED');
    expect(container).toMatch(/^[0-9a-f]{12}$/);
    // Polls (no time asserted) until the daemon has stopped and removed (forcerm) the `sleep 600` container.
    for (let i = 0; ; i++) {
      const running = dockerCli(w.docker.host, ['ps', '-a', '-q', '--filter', `id=${container ?? ''}`]).trim();
      if (running === '') break;
      if (i > 600) throw new Error(`build container ${container ?? ''} still exists after the build was aborted`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('builds, tags, saves, removes and loads an image; the stream ends with the image id', async () => {
    const w = world();
    const c = await connect({ env: cleanEnv(), host: w.docker.host });
    const tag = `imgtool-test/engine-${uniq()}:1`;
    const marker = uniq();
    const { messages, error } = await collect(
      c.build(contextTar(`FROM ${w.baseImage}\nRUN echo ${marker} > /marker\nLABEL x=y\n`), { tags: [tag], version: '1', labels: { 'org.example.test': marker } }),
    );
    expect(error).toBeUndefined();
    const ids = messages.flatMap((m) => (m.aux !== undefined && typeof (m.aux as { ID?: unknown }).ID === 'string' ? [(m.aux as { ID: string }).ID] : []));
    const img = await c.imageInspect(tag);
    expect(ids.at(-1)).toBe(img.Id);
    expect(img.Config?.Labels?.['org.example.test']).toBe(marker);

    const tag2 = `imgtool-test/engine-${uniq()}`;
    await c.imageTag(tag, tag2, 'two');
    expect((await c.imageInspect(`${tag2}:two`)).Id).toBe(img.Id);

    // Save to a file (streamed), remove, load it back.
    const file = join(scratch('save-'), 'img.tar');
    const { pipeline } = await import('node:stream/promises');
    const { createWriteStream, createReadStream } = await import('node:fs');
    await pipeline(await c.imageSave([tag]), createWriteStream(file));
    const listing = execFileSync('tar', ['-tf', file], { encoding: 'utf8' });
    expect(listing).toContain('manifest.json');
    await c.imageRemove(tag2 + ':two');
    const removed = await c.imageRemove(tag, { force: true });
    expect(removed.some((r) => r.Untagged === tag)).toBe(true);
    expect((await failure(c.imageInspect(tag))).code).toBe('ENGINE_NOT_FOUND');
    const loaded = await collect(c.imageLoad(createReadStream(file)));
    expect(loaded.error).toBeUndefined();
    expect(loaded.messages.map((m) => m.stream ?? '').join('')).toContain(`Loaded image: ${tag}`);
    expect((await c.imageInspect(tag)).Id).toBe(img.Id);
    await c.imageRemove(tag, { force: true });
  });

  it('pushes to the open registry and pulls back; the final status carries the digest', async () => {
    const w = world();
    const c = await connect({ env: cleanEnv(), host: w.docker.host });
    const repo = `${w.open.host}/engine/push-${uniq()}`;
    await c.imageTag(w.baseImage, repo, 'v1');
    const pushed = await collect(c.imagePush(repo, { tag: 'v1', registryAuth: encodeRegistryHeader({}) }));
    expect(pushed.error).toBeUndefined();
    const final = pushed.messages.map((m) => m.status ?? '').find((s) => s.startsWith('v1: digest: sha256:'));
    expect(final).toMatch(/^v1: digest: sha256:[0-9a-f]{64} size: \d+$/);
    await c.imageRemove(`${repo}:v1`);
    const pulled = await collect(c.imageCreate({ fromImage: repo, tag: 'v1' }));
    expect(pulled.error).toBeUndefined();
    expect(pulled.messages.some((m) => (m.status ?? '').startsWith('Digest: sha256:'))).toBe(true);
    expect((await c.imageInspect(`${repo}:v1`)).Id).toBe((await c.imageInspect(w.baseImage)).Id);
    await c.imageRemove(`${repo}:v1`);
  });

  it('a pull of a missing repository fails (non-streamed or in-stream, never success)', async () => {
    const w = world();
    const c = await connect({ env: cleanEnv(), host: w.docker.host });
    const { error } = await collect(c.imageCreate({ fromImage: `${w.open.host}/engine/missing-${uniq()}`, tag: 'v1' }));
    expect(error?.code).toMatch(/^ENGINE_(NOT_FOUND|API|STREAM)$/);
    expect(error?.message).toMatch(/not found|manifest unknown/i);
  });
});

describe('version negotiation and DOCKER_API_VERSION', () => {
  it('negotiates min(1.47, 1.41) and prefixes every request with /v1.41', async () => {
    const lines: string[] = [];
    const c = await connect({ env: cleanEnv(), host: world().docker.host, log: (l) => lines.push(l) });
    await c.imageInspect(world().baseImage);
    expect(lines).toContainEqual(expect.stringMatching(/^engine: HEAD \/_ping -> 200/));
    expect(lines).toContainEqual(expect.stringMatching(/^engine: GET \/v1\.41\/images\/imgtool-test\/busybox:1\.0\/json -> 200/));
  });

  it('DOCKER_API_VERSION=1.40 pins the version: no ping, /v1.40 paths the daemon accepts', async () => {
    const lines: string[] = [];
    const c = await connect({ env: cleanEnv({ DOCKER_API_VERSION: '1.40' }), host: world().docker.host, log: (l) => lines.push(l) });
    const v = await c.version();
    expect(v.ApiVersion).toBe('1.41');
    expect(await c.apiVersion()).toBe('1.40');
    expect(lines.some((l) => l.includes('_ping'))).toBe(false);
    expect(lines).toContainEqual(expect.stringMatching(/^engine: GET \/v1\.40\/version -> 200/));
  });

  it('a pinned version the daemon does not support is ENGINE_VERSION_UNSUPPORTED with the daemon message', async () => {
    const c = await connect({ env: cleanEnv({ DOCKER_API_VERSION: '1.45' }), host: world().docker.host });
    const err = await failure(c.version());
    expect(err.code).toBe('ENGINE_VERSION_UNSUPPORTED');
    expect(err.details.status).toBe(400);
    expect(err.message).toMatch(/client version 1\.45 is too new\. Maximum supported API version is 1\.41/);
    expect(err.hint).toMatch(/DOCKER_API_VERSION/);
  });
});

describe('tcp + TLS (second private dockerd with --tlsverify)', () => {
  it('connects with DOCKER_TLS_VERIFY + DOCKER_CERT_PATH', async () => {
    const t = world().dockerTls;
    const c = await connect({ env: cleanEnv({ DOCKER_HOST: t.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: t.certPath }) });
    expect(c.endpoint.scheme).toBe('tcp');
    expect(c.endpoint.tls?.verify).toBe(true);
    expect((await c.ping()).apiVersion).toBe('1.41');
    expect((await c.imageInspect(world().baseImage)).RepoTags).toContain(world().baseImage);
  });

  it('connects with -H and --tlsverify --tlscacert/--tlscert/--tlskey', async () => {
    const t = world().dockerTls;
    const c = await connect({
      env: cleanEnv(),
      host: t.host,
      tlsverify: true,
      tlscacert: join(t.certPath, 'ca.pem'),
      tlscert: join(t.certPath, 'cert.pem'),
      tlskey: join(t.certPath, 'key.pem'),
    });
    expect((await c.version()).ApiVersion).toBe('1.41');
  });

  it('plain HTTP to the TLS port: the daemon says so and the hint says to use --tlsverify', async () => {
    const c = await connect({ env: cleanEnv({ DOCKER_HOST: world().dockerTls.host }) });
    const err = await failure(c.ping());
    expect(err.details.status).toBe(400);
    expect(err.message).toMatch(/HTTP request to an HTTPS server/);
    expect(err.hint).toMatch(/--tlsverify/);
  });

  it('a CA that did not sign the daemon certificate fails verification: ENGINE_UNREACHABLE naming the endpoint', async () => {
    const t = world().dockerTls;
    const dir = scratch('badca-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'ca.pem'), '-days', '1', '-subj', '/CN=other-ca'], { stdio: 'ignore' });
    const c = await connect({
      env: cleanEnv(),
      host: t.host,
      tlsverify: true,
      tlscacert: join(dir, 'ca.pem'),
      tlscert: join(t.certPath, 'cert.pem'),
      tlskey: join(t.certPath, 'key.pem'),
    });
    const err = await failure(c.ping());
    expect(err.code).toBe('ENGINE_UNREACHABLE');
    expect(err.message).toContain(t.host);
    expect(err.message).toMatch(/TLS failed/);
  });

  it('a missing TLS file is ENGINE_ENDPOINT_INVALID naming the file', async () => {
    const err = await failure(connectEngine({ env: cleanEnv({ DOCKER_HOST: world().dockerTls.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: '/nonexistent-certs' }) }));
    expect(err.code).toBe('ENGINE_ENDPOINT_INVALID');
    expect(err.message).toContain('/nonexistent-certs/ca.pem');
    expect(err.message).toContain('DOCKER_HOST');
  });
});

describe('contexts store (contexts created by the docker CLI peer)', () => {
  it('selects contexts by --context, DOCKER_CONTEXT and currentContext, with TLS from the store', async () => {
    const w = world();
    const t = w.dockerTls;
    const cfg = scratch('ctxcfg-');
    const env = { ...process.env, DOCKER_CONFIG: cfg } as NodeJS.ProcessEnv;
    const docker = (args: string[]): string => execFileSync(DOCKER_CLI, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    docker(['context', 'create', 'it-unix', '--docker', `host=${w.docker.host}`]);
    docker(['context', 'create', 'it-tls', '--docker', `host=${t.host},ca=${join(t.certPath, 'ca.pem')},cert=${join(t.certPath, 'cert.pem')},key=${join(t.certPath, 'key.pem')}`]);
    docker(['context', 'use', 'it-tls']);
    // The CLI wrote the layout imgtool reads.
    expect(JSON.parse(readFileSync(join(cfg, 'contexts', 'meta', contextDirName('it-tls'), 'meta.json'), 'utf8')).Endpoints.docker.Host).toBe(t.host);

    const base = { PATH: process.env['PATH'] ?? '', HOME: scratch('h-'), DOCKER_CONFIG: cfg };
    const viaConfig = await connect({ env: base });
    expect(viaConfig.endpoint).toMatchObject({ host: t.host, source: 'config-current-context', context: 'it-tls' });
    expect(viaConfig.endpoint.tls?.verify).toBe(true);
    expect((await viaConfig.ping()).apiVersion).toBe('1.41');

    const viaEnv = await connect({ env: { ...base, DOCKER_CONTEXT: 'it-unix' } });
    expect(viaEnv.endpoint).toMatchObject({ host: w.docker.host, source: 'DOCKER_CONTEXT', context: 'it-unix' });
    expect((await viaEnv.ping()).apiVersion).toBe('1.41');

    const viaFlag = await connect({ env: { ...base, DOCKER_CONTEXT: 'it-tls' }, context: 'it-unix' });
    expect(viaFlag.endpoint).toMatchObject({ host: w.docker.host, source: 'context-flag' });

    // DOCKER_HOST beats the current context, as in the CLI.
    const viaHost = await connect({ env: { ...base, DOCKER_HOST: w.docker.host } });
    expect(viaHost.endpoint).toMatchObject({ host: w.docker.host, source: 'DOCKER_HOST', context: 'default' });

    // The docker CLI resolves the same daemons from the same store.
    expect(docker(['--context', 'it-unix', 'version', '--format', '{{.Server.APIVersion}}']).trim()).toBe('1.41');
  });
});

describe('ssh:// (a fake ssh that bridges stdio to the daemon socket, as `docker system dial-stdio` does; no sshd here)', () => {
  it('speaks HTTP over the stdio of `ssh ... docker system dial-stdio`', async () => {
    const w = world();
    const bin = scratch('sshbin-');
    const argsLog = join(bin, 'args.log');
    writeFileSync(
      join(bin, 'ssh'),
      [
        '#!/usr/bin/env node',
        "const fs = require('fs'); const net = require('net');",
        'fs.appendFileSync(process.env.FAKE_SSH_ARGS, JSON.stringify(process.argv.slice(2)) + "\\n");',
        'const sock = net.connect(process.env.FAKE_SSH_SOCKET);',
        'process.stdin.pipe(sock); sock.pipe(process.stdout);',
        "sock.on('close', () => process.exit(0)); sock.on('error', (e) => { console.error(e.message); process.exit(1); });",
        '',
      ].join('\n'),
    );
    chmodSync(join(bin, 'ssh'), 0o755);
    const c = await connect({
      host: 'ssh://deploy@build.example.com:2222',
      env: { ...cleanEnv(), PATH: `${bin}:${process.env['PATH'] ?? ''}`, FAKE_SSH_ARGS: argsLog, FAKE_SSH_SOCKET: w.docker.socketPath },
    });
    expect((await c.ping()).apiVersion).toBe('1.41');
    expect((await c.imageInspect(w.baseImage)).RepoTags).toContain(w.baseImage);
    const calls = readFileSync(argsLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);
    expect(calls[0]).toEqual(['-l', 'deploy', '-p', '2222', '-o', 'ConnectTimeout=30', '-T', '--', 'build.example.com', 'docker', 'system', 'dial-stdio']);
  });
});

import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImgtoolError } from '../../../src/image/errors.js';
import { exitCodeFor } from '../../../src/cli/exit-codes.js';
import { contextDirName, parseDockerHost, resolveEndpoint, sshArgs } from '../../../src/engine/endpoint.js';
import type { EndpointOptions } from '../../../src/engine/endpoint-types.js';

let root: string;
let cfg: string;
let certs: string;

/** Writes a context into the store as `docker context create` does. */
function writeContext(configDir: string, name: string, endpoint: { Host?: string; SkipTLSVerify?: boolean } | undefined, tlsFiles: string[] = []): void {
  const id = createHash('sha256').update(name).digest('hex');
  const metaDir = join(configDir, 'contexts', 'meta', id);
  mkdirSync(metaDir, { recursive: true });
  writeFileSync(join(metaDir, 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: endpoint === undefined ? {} : { docker: endpoint } }));
  if (tlsFiles.length > 0) {
    const tlsDir = join(configDir, 'contexts', 'tls', id, 'docker');
    mkdirSync(tlsDir, { recursive: true });
    for (const f of tlsFiles) writeFileSync(join(tlsDir, f), `${f} of ${name}`);
  }
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'imgtool-endpoint-'));
  cfg = join(root, 'cfg');
  certs = join(root, 'certs');
  mkdirSync(cfg, { recursive: true });
  mkdirSync(certs, { recursive: true });
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(certs, f), f);
  writeContext(cfg, 'remote', { Host: 'tcp://remote.example.com:2376', SkipTLSVerify: false }, ['ca.pem', 'cert.pem', 'key.pem']);
  writeContext(cfg, 'insecure', { Host: 'tcp://10.0.0.5:2376', SkipTLSVerify: true });
  writeContext(cfg, 'plain', { Host: 'tcp://10.0.0.6' });
  writeContext(cfg, 'local', { Host: 'unix:///run/user/1000/docker.sock', SkipTLSVerify: false });
  writeContext(cfg, 'over-ssh', { Host: 'ssh://deploy@build.example.com:2222' });
  writeContext(cfg, 'no-docker', undefined);
  writeContext(cfg, 'bad-host', { Host: 'udp://x' });
  writeFileSync(join(cfg, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'local' }));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Options with only DOCKER_CONFIG (and a HOME that has nothing) set, plus `extra`. */
function opts(env: Record<string, string> = {}, extra: Omit<EndpointOptions, 'env'> = {}, configDir: string = join(root, 'empty-cfg')): EndpointOptions {
  return { env: { HOME: join(root, 'home'), DOCKER_CONFIG: configDir, ...env }, ...extra };
}

async function failure(p: Promise<unknown>): Promise<ImgtoolError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImgtoolError);
  return err as ImgtoolError;
}

describe('resolveEndpoint: precedence (--context, -H, DOCKER_HOST, DOCKER_CONTEXT, currentContext, default)', () => {
  it('defaults to the local unix socket', async () => {
    const ep = await resolveEndpoint(opts());
    expect(ep).toMatchObject({ host: 'unix:///var/run/docker.sock', scheme: 'unix', socketPath: '/var/run/docker.sock', source: 'default', how: 'default', context: 'default' });
    expect(ep.tls).toBeUndefined();
  });

  it('uses ~/.docker when DOCKER_CONFIG is unset', async () => {
    const home = join(root, 'home2');
    mkdirSync(join(home, '.docker'), { recursive: true });
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ currentContext: 'local' }));
    writeContext(join(home, '.docker'), 'local', { Host: 'unix:///home/sock' });
    const ep = await resolveEndpoint({ env: { HOME: home } });
    expect(ep).toMatchObject({ host: 'unix:///home/sock', source: 'config-current-context', context: 'local' });
  });

  it('takes currentContext from config.json', async () => {
    const ep = await resolveEndpoint(opts({}, {}, cfg));
    expect(ep).toMatchObject({ host: 'unix:///run/user/1000/docker.sock', source: 'config-current-context', context: 'local' });
    expect(ep.how).toBe(`context "local" (currentContext in ${join(cfg, 'config.json')})`);
  });

  it('DOCKER_CONTEXT beats currentContext', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_CONTEXT: 'plain' }, {}, cfg));
    expect(ep).toMatchObject({ host: 'tcp://10.0.0.6:2375', source: 'DOCKER_CONTEXT', how: 'context "plain" (DOCKER_CONTEXT)' });
    expect(ep.tls).toBeUndefined();
  });

  it('DOCKER_HOST beats DOCKER_CONTEXT and currentContext', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_HOST: 'unix:///tmp/d.sock', DOCKER_CONTEXT: 'plain' }, {}, cfg));
    expect(ep).toMatchObject({ host: 'unix:///tmp/d.sock', source: 'DOCKER_HOST', how: 'DOCKER_HOST', context: 'default' });
  });

  it('-H beats DOCKER_HOST', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_HOST: 'unix:///tmp/d.sock' }, { host: 'tcp://127.0.0.1:5555' }, cfg));
    expect(ep).toMatchObject({ host: 'tcp://127.0.0.1:5555', scheme: 'tcp', source: 'host-flag', how: '-H/--host' });
    expect(ep.tcp).toEqual({ hostname: '127.0.0.1', port: 5555, basePath: '' });
  });

  it('--context beats DOCKER_HOST and DOCKER_CONTEXT', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_HOST: 'unix:///tmp/d.sock', DOCKER_CONTEXT: 'plain' }, { context: 'local' }, cfg));
    expect(ep).toMatchObject({ host: 'unix:///run/user/1000/docker.sock', source: 'context-flag', how: 'context "local" (--context)', context: 'local' });
  });

  it('--context together with -H is a usage error (exit 2), as in the docker CLI', async () => {
    const err = await failure(resolveEndpoint(opts({}, { context: 'local', host: 'unix:///x' }, cfg)));
    expect(err.code).toBe('ENGINE_ENDPOINT_INVALID');
    expect(err.message).toMatch(/cannot specify both --host and --context/);
    expect(exitCodeFor(err)).toBe(2);
  });

  it('the "default" context means flags and environment: --context default with DOCKER_HOST uses DOCKER_HOST', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_HOST: 'unix:///y.sock' }, { context: 'default' }, cfg));
    expect(ep).toMatchObject({ host: 'unix:///y.sock', source: 'DOCKER_HOST', context: 'default' });
  });

  it('currentContext "default" falls through to the default socket', async () => {
    const dir = join(root, 'cfg-default');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ currentContext: 'default' }));
    const ep = await resolveEndpoint(opts({}, {}, dir));
    expect(ep).toMatchObject({ host: 'unix:///var/run/docker.sock', context: 'default' });
  });

  it('empty variables count as unset, as Go os.Getenv', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_HOST: '', DOCKER_CONTEXT: '' }, {}, cfg));
    expect(ep.source).toBe('config-current-context');
  });

  it('an unreadable config.json is ignored with a warning (as the CLI does)', async () => {
    const dir = join(root, 'cfg-broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), '{ not json');
    const ep = await resolveEndpoint(opts({}, {}, dir));
    expect(ep.source).toBe('default');
    expect(ep.warnings).toHaveLength(1);
    expect(ep.warnings[0]).toContain(join(dir, 'config.json'));
  });
});

describe('resolveEndpoint: contexts store', () => {
  it('finds meta.json under the sha256 of the name', () => {
    expect(contextDirName('remote')).toBe(createHash('sha256').update('remote').digest('hex'));
  });

  it('reads TLS material from contexts/tls/<id>/docker and verifies', async () => {
    const ep = await resolveEndpoint(opts({}, { context: 'remote' }, cfg));
    const tlsDir = join(cfg, 'contexts', 'tls', contextDirName('remote'), 'docker');
    expect(ep).toMatchObject({ host: 'tcp://remote.example.com:2376', scheme: 'tcp', context: 'remote' });
    expect(ep.tls).toEqual({ verify: true, caFile: join(tlsDir, 'ca.pem'), certFile: join(tlsDir, 'cert.pem'), keyFile: join(tlsDir, 'key.pem') });
  });

  it('SkipTLSVerify turns TLS on without verification', async () => {
    const ep = await resolveEndpoint(opts({}, { context: 'insecure' }, cfg));
    expect(ep.tls).toEqual({ verify: false });
  });

  it('a context without TLS data is plain tcp; a missing port gets 2375', async () => {
    const ep = await resolveEndpoint(opts({}, { context: 'plain' }, cfg));
    expect(ep.host).toBe('tcp://10.0.0.6:2375');
    expect(ep.tls).toBeUndefined();
  });

  it('an ssh context', async () => {
    const ep = await resolveEndpoint(opts({}, { context: 'over-ssh' }, cfg));
    expect(ep).toMatchObject({ scheme: 'ssh', host: 'ssh://deploy@build.example.com:2222', ssh: { user: 'deploy', host: 'build.example.com', port: '2222' } });
  });

  it('a missing context names the context, how it was chosen and the file', async () => {
    const err = await failure(resolveEndpoint(opts({ DOCKER_CONTEXT: 'nope' }, {}, cfg)));
    expect(err.code).toBe('ENGINE_ENDPOINT_INVALID');
    expect(err.message).toContain('context "nope"');
    expect(err.message).toContain('DOCKER_CONTEXT');
    expect(err.message).toContain(join(cfg, 'contexts', 'meta', contextDirName('nope'), 'meta.json'));
    expect(exitCodeFor(err)).toBe(2);
  });

  it('a context without a docker endpoint is invalid', async () => {
    const err = await failure(resolveEndpoint(opts({}, { context: 'no-docker' }, cfg)));
    expect(err.message).toMatch(/has no docker endpoint/);
  });

  it('a context with a bad Host is invalid, naming the context', async () => {
    const err = await failure(resolveEndpoint(opts({}, { context: 'bad-host' }, cfg)));
    expect(err.code).toBe('ENGINE_ENDPOINT_INVALID');
    expect(err.message).toContain('context "bad-host" (--context)');
    expect(err.message).toContain('udp://x');
  });
});

describe('resolveEndpoint: TLS from flags and environment', () => {
  it('DOCKER_TLS_VERIFY + DOCKER_CERT_PATH: verify with ca/cert/key from the cert path; no host means tcp://localhost:2376', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }));
    expect(ep).toMatchObject({ host: 'tcp://localhost:2376', scheme: 'tcp' });
    expect(ep.tls).toEqual({ verify: true, caFile: join(certs, 'ca.pem'), certFile: join(certs, 'cert.pem'), keyFile: join(certs, 'key.pem') });
  });

  it('any non-empty DOCKER_TLS_VERIFY counts (even "0"), as in the CLI', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_TLS_VERIFY: '0', DOCKER_CERT_PATH: certs, DOCKER_HOST: 'tcp://h:1' }));
    expect(ep.tls?.verify).toBe(true);
  });

  it('DOCKER_TLS: TLS without verification', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_TLS: '1', DOCKER_CERT_PATH: certs, DOCKER_HOST: 'tcp://h:2376' }));
    expect(ep.tls).toMatchObject({ verify: false });
  });

  it('a tcp address without port gets 2375 even with TLS (docker CLI 28 dials h:2375)', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }, { host: 'tcp://h' }));
    expect(ep.host).toBe('tcp://h:2375');
  });

  it('--tlsverify with explicit files beats DOCKER_CERT_PATH', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_CERT_PATH: certs }, { host: 'tcp://h:2376', tlsverify: true, tlscacert: '/x/ca', tlscert: '/x/cert', tlskey: '/x/key' }));
    expect(ep.tls).toEqual({ verify: true, caFile: '/x/ca', certFile: '/x/cert', keyFile: '/x/key' });
  });

  it('default cert/key that do not exist are dropped; the CA stays (the CLI fails to load it later)', async () => {
    const empty = join(root, 'empty-certs');
    mkdirSync(empty, { recursive: true });
    const ep = await resolveEndpoint(opts({ DOCKER_CERT_PATH: empty }, { host: 'tcp://h:2376', tls: true }));
    expect(ep.tls).toEqual({ verify: false, caFile: join(empty, 'ca.pem') });
  });

  it('without DOCKER_CERT_PATH the files come from the config dir', async () => {
    const ep = await resolveEndpoint(opts({}, { host: 'tcp://h:2376', tlsverify: true }, certs));
    expect(ep.tls?.caFile).toBe(join(certs, 'ca.pem'));
    expect(ep.tls?.certFile).toBe(join(certs, 'cert.pem'));
  });

  it('TLS settings are ignored for unix sockets', async () => {
    const ep = await resolveEndpoint(opts({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs, DOCKER_HOST: 'unix:///s.sock' }));
    expect(ep.tls).toBeUndefined();
  });
});

describe('parseDockerHost', () => {
  const cases: Array<[string, string]> = [
    ['unix:///var/run/docker.sock', 'unix:///var/run/docker.sock'],
    ['unix://', 'unix:///var/run/docker.sock'],
    ['tcp://127.0.0.1', 'tcp://127.0.0.1:2375'],
    ['tcp://127.0.0.1:2376', 'tcp://127.0.0.1:2376'],
    ['tcp://:2376', 'tcp://localhost:2376'],
    ['tcp://', 'tcp://localhost:2375'],
    ['10.1.2.3:4243', 'tcp://10.1.2.3:4243'],
    ['tcp://docker.example.com:2376/api/', 'tcp://docker.example.com:2376/api'],
    ['tcp://[::1]:2376', 'tcp://[::1]:2376'],
    [' tcp://h:1 ', 'tcp://h:1'],
    ['ssh://host', 'ssh://host'],
    ['ssh://me@host:2222/run/docker.sock', 'ssh://me@host:2222/run/docker.sock'],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input)} -> ${want}`, () => {
      expect(parseDockerHost(input, 2375, 'test').host).toBe(want);
    });
  }

  const bad = ['udp://h:1', 'npipe:////./pipe/docker_engine', 'fd://', 'unix://relative/path', 'tcp://h:99999', 'tcp://u:p@h:1', 'ssh://u:secret@h', 'ssh://', 'tcp://h:1?x=1'];
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)} with ENGINE_ENDPOINT_INVALID naming the source`, () => {
      let err: unknown;
      try {
        parseDockerHost(input, 2375, 'DOCKER_HOST');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ImgtoolError);
      expect((err as ImgtoolError).code).toBe('ENGINE_ENDPOINT_INVALID');
      expect((err as ImgtoolError).message).toMatch(/^DOCKER_HOST: /);
      expect((err as ImgtoolError).message).not.toContain('secret');
    });
  }

  it('an invalid DOCKER_HOST fails resolution with exit code 2, naming the value and the variable', async () => {
    const err = await failure(resolveEndpoint(opts({ DOCKER_HOST: 'udp://nope:1' })));
    expect(err.message).toBe('DOCKER_HOST: "udp://nope:1" is not a valid daemon address (use unix://, tcp:// or ssh://)');
    expect(exitCodeFor(err)).toBe(2);
  });
});

describe('sshArgs', () => {
  it('builds the docker CLI connection helper command', () => {
    expect(sshArgs({ host: 'build.example.com' })).toEqual(['-o', 'ConnectTimeout=30', '-T', '--', 'build.example.com', 'docker', 'system', 'dial-stdio']);
  });

  it('passes user, port and a remote socket', () => {
    expect(sshArgs({ user: 'deploy', host: 'h', port: '2222', socketPath: '/run/docker.sock' })).toEqual([
      '-l', 'deploy', '-p', '2222', '-o', 'ConnectTimeout=30', '-T', '--', 'h', 'docker', '--host', 'unix:///run/docker.sock', 'system', 'dial-stdio',
    ]);
  });

  it('a host that looks like an option stays an argument after --', () => {
    const args = sshArgs({ host: '-oProxyCommand=evil' });
    expect(args.indexOf('--')).toBeLessThan(args.indexOf('-oProxyCommand=evil'));
  });
});

/**
 * Secrets never printed (issue 7). The main flows run in-process with captured streams, most
 * with `--debug`: login (Basic and Harbor token auth, with --password-stdin; a wrong password),
 * push through the engine and directly, pull, remote history/inspect, a build FROM a private
 * image with --metadata-file, logout. Everything printed, every error message and every
 * metadata file is searched for every secret of the world (passwords, tokens the token
 * services issued, and the encoded forms config.json and X-Registry-Auth carry): zero hits.
 * The debug logs must show the redaction marker where the credential headers were.
 *
 * Also: `plan` warns about credential files in the context, and the minimal context
 * (`context ls`) leaves them out unless a COPY names them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRegistryAuth } from '../../../src/registry/credentials/index.js';
import { world, worldSecrets } from '../../world/world.js';
import { uniq } from './helpers.js';
import { runInProcess } from '../../world/in-process.js';

interface Result {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Everything imgtool printed or wrote in this file. */
const printed: string[] = [];

async function imgtool(argv: string[], env: Record<string, string>, stdin = '', cwd = world().tmp): Promise<Result> {
  const r = await runInProcess(argv, { label: 'secrets', env, cwd, stdin });
  printed.push(`$ imgtool ${argv.join(' ')}`, r.stdout, r.stderr);
  return r;
}

function expectOk(r: Result, what: string): void {
  expect(r.code, `${what}:\n${r.stderr}`).toBe(0);
}

/** The secrets plus the encodings that carry them (config.json's auth, X-Registry-Auth). */
function secretForms(): string[] {
  const w = world();
  const forms = new Set(worldSecrets(w));
  for (const r of [w.basic, w.harbor, w.hub, w.tls]) {
    forms.add(Buffer.from(`${r.username}:${r.password}`).toString('base64'));
    forms.add(encodeRegistryAuth({ username: r.username, password: r.password }, r.host));
  }
  forms.add(Buffer.from(`${w.harbor.reader.username}:${w.harbor.reader.password}`).toString('base64'));
  return [...forms].filter((s) => s.length >= 8);
}

let cfg: string;
let env: Record<string, string>;

beforeAll(() => {
  cfg = join(world().tmp, `sec-cfg-${uniq()}`);
  mkdirSync(cfg, { recursive: true });
  env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cfg, DOCKER_CONFIG: cfg, DOCKER_HOST: world().docker.host, NO_COLOR: '1' };
});

afterAll(() => {
  // The whole transcript, searched for every secret and its encodings: zero hits.
  const all = printed.join('\n');
  const leaked = secretForms().filter((s) => all.includes(s));
  expect(leaked.map((s) => `${s.slice(0, 3)}…(${s.length} chars)`)).toEqual([]);
  // The check can fail: the transcript is not empty and the secrets are real.
  expect(all.length).toBeGreaterThan(1000);
});

describe('no secret in anything imgtool prints', () => {
  let basic: ReturnType<typeof world>['basic'];
  let harbor: ReturnType<typeof world>['harbor'];
  let basicTag: string;
  let harborTag: string;
  beforeAll(() => {
    ({ basic, harbor } = world());
    basicTag = `${basic.host}/sec/app-${uniq()}:1`;
    harborTag = `${harbor.host}/${harbor.namespace}sec-${uniq()}:1`;
  });

  it('login (--password-stdin, --debug) to Basic and Harbor token registries; a wrong password fails without echoing it', async () => {
    expectOk(await imgtool(['--debug', 'login', '-u', basic.username, '--password-stdin', basic.host], env, `${basic.password}\n`), 'basic login');
    expectOk(await imgtool(['--debug', 'login', '-u', harbor.username, '--password-stdin', harbor.host], env, `${harbor.password}\n`), 'harbor login');
    const wrong = `${basic.password}-wrong`;
    const bad = await imgtool(['--debug', 'login', '-u', basic.username, '--password-stdin', basic.host], env, `${wrong}\n`);
    expect(bad.code).toBe(1);
    expect(bad.stderr).not.toContain(wrong);
    expect(bad.stderr).toMatch(/unauthori[sz]ed|401|credentials/i);
    // config.json holds the credentials (base64, as docker does): that file is the one place for them.
    expect(readFileSync(join(cfg, 'config.json'), 'utf8')).toContain(Buffer.from(`${basic.username}:${basic.password}`).toString('base64'));
  });

  it('push through the engine with --debug: X-Registry-Auth appears only as <redacted>', async () => {
    expectOk(await imgtool(['tag', world().baseImage, basicTag], env), 'tag');
    const push = await imgtool(['--debug', 'push', basicTag], env);
    expectOk(push, 'engine push');
    expect(push.stderr).toMatch(/x-registry-auth: <redacted>/i);
  });

  it('push --direct to Harbor with --debug: Authorization appears only as "<scheme> <redacted>"', async () => {
    expectOk(await imgtool(['tag', world().baseImage, harborTag], env), 'tag');
    const push = await imgtool(['--debug', 'push', '--direct', harborTag], env);
    expectOk(push, 'direct push');
    expect(push.stderr).toMatch(/authorization: (Basic|Bearer) <redacted>/i);
  });

  it('pull, remote history and inspect with --debug', async () => {
    expectOk(await imgtool(['--debug', 'pull', basicTag], env), 'pull');
    expectOk(await imgtool(['--debug', 'history', `docker://${harborTag}`], env), 'remote history');
    const inspect = await imgtool(['--debug', 'inspect', '--json', `docker://${basicTag}`], env);
    expectOk(inspect, 'remote inspect');
    expect(inspect.stderr).toMatch(/authorization: Basic <redacted>/i);
  });

  it('build --debug FROM a private image, with --metadata-file: the registry config header is redacted', async () => {
    const ctx = join(world().tmp, `sec-ctx-${uniq()}`);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${basicTag}\nRUN echo built > /built\n`);
    const meta = join(ctx, 'meta.json');
    const build = await imgtool(['--debug', 'build', '--builder', 'classic', '--pull', '--progress', 'plain', '--metadata-file', meta, '-t', `sec/built-${uniq()}`, ctx], env);
    expectOk(build, 'build');
    const metadata = readFileSync(meta, 'utf8');
    printed.push(metadata);
    expect(JSON.parse(metadata)).toBeTypeOf('object');
    expect(build.stderr).toMatch(/x-registry-config: <redacted>/i);
  });

  it('errors that quote requests (a push denied to the Harbor reader robot) name no secret', async () => {
    const readerCfg = join(world().tmp, `sec-reader-${uniq()}`);
    mkdirSync(readerCfg, { recursive: true });
    const readerEnv = { ...env, HOME: readerCfg, DOCKER_CONFIG: readerCfg };
    expectOk(await imgtool(['login', '-u', harbor.reader.username, '--password-stdin', harbor.host], readerEnv, `${harbor.reader.password}\n`), 'reader login');
    const denied = await imgtool(['--debug', 'push', '--direct', harborTag], readerEnv);
    expect(denied.code).toBe(1);
    const engineDenied = await imgtool(['--debug', 'push', harborTag], readerEnv);
    expect(engineDenied.code).toBe(1);
    expectOk(await imgtool(['logout', harbor.host], readerEnv), 'logout');
  });
});

describe('credential files and the build context', () => {
  it('plan warns about .docker/config.json, .npmrc with a token and .env; the minimal context leaves them out unless a COPY names them', async () => {
    const ctx = join(world().tmp, `sec-plan-${uniq()}`);
    mkdirSync(join(ctx, '.docker'), { recursive: true });
    mkdirSync(join(ctx, 'src'), { recursive: true });
    const npmToken = `npm_${uniq()}${uniq()}${uniq()}`;
    writeFileSync(join(ctx, '.docker/config.json'), JSON.stringify({ auths: { 'r.example': { auth: Buffer.from('u:leaky').toString('base64') } } }));
    writeFileSync(join(ctx, '.npmrc'), `//registry.npmjs.org/:_authToken=${npmToken}\n`);
    writeFileSync(join(ctx, '.env'), 'DB_PASSWORD=hunter2-dont-print\n');
    writeFileSync(join(ctx, 'src/app.js'), 'console.log(1)\n');
    writeFileSync(join(ctx, 'Dockerfile'), `FROM ${world().baseImage}\nCOPY src/ /app/\nCOPY . /everything/\n`);
    writeFileSync(join(ctx, 'Dockerfile.narrow'), `FROM ${world().baseImage}\nCOPY src/ /app/\n`);
    writeFileSync(join(ctx, 'Dockerfile.named'), `FROM ${world().baseImage}\nCOPY src/ /app/\nCOPY .npmrc /root/.npmrc\n`);

    // COPY . reads everything: plan warns about each credential file it would send.
    const wide = await imgtool(['plan', '-f', join(ctx, 'Dockerfile'), ctx], env);
    expectOk(wide, 'plan');
    for (const f of ['.docker/config.json', '.npmrc', '.env']) expect(wide.stdout + wide.stderr).toContain(f);

    // Only src/ is read: the minimal context leaves the credential files out.
    const narrow = await imgtool(['context', 'ls', '-f', join(ctx, 'Dockerfile.narrow'), ctx], env);
    expectOk(narrow, 'context ls (narrow)');
    expect(narrow.stdout).toContain('src/app.js');
    for (const f of ['.docker/config.json', '.npmrc', '.env']) expect(narrow.stdout).not.toMatch(new RegExp(`(^|\\s|/)${f.replace(/\./g, '\\.')}(\\s|$)`, 'm'));

    // A COPY that names .npmrc brings exactly that file (and plan says so), still not the others.
    const named = await imgtool(['context', 'ls', '-f', join(ctx, 'Dockerfile.named'), ctx], env);
    expectOk(named, 'context ls (named)');
    expect(named.stdout).toMatch(/(^|\s)\.npmrc(\s|$)/m);
    expect(named.stdout).not.toMatch(/(^|\s)\.env(\s|$)/m);
    expect(named.stdout).not.toContain('.docker/config.json');
    const namedPlan = await imgtool(['plan', '-f', join(ctx, 'Dockerfile.named'), ctx], env);
    expectOk(namedPlan, 'plan (named)');
    expect(namedPlan.stdout + namedPlan.stderr).toContain('.npmrc');

    // The plan and the listing never print the files' contents.
    const all = [wide, narrow, named, namedPlan].map((r) => r.stdout + r.stderr).join('\n');
    expect(all).not.toContain(npmToken);
    expect(all).not.toContain('hunter2-dont-print');
    expect(all).not.toContain(Buffer.from('u:leaky').toString('base64'));
  });
});

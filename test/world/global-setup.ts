/**
 * vitest globalSetup for the integration project: starts the test world once per run and
 * tears it down afterwards, even when tests fail or the run is interrupted (a detached reaper
 * watches this process). Missing prerequisites fail the run with the Debian package to install;
 * integration tests are never skipped.
 */
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startDockerd, type RunningDaemon } from './dockerd.js';
import { startRegistry, writeHtpasswd, type RunningRegistry } from './registry.js';
import { buildBaseImage, dockerCli } from './base-image.js';
import { makePki, type TestPki } from './certs.js';
import { freePort } from './procs.js';
import { startTokenService, tokenHandler, type TokenAccount } from './token-service.js';
import { startHarborFront } from './harbor.js';
import { startReaper } from './cleanup.js';
import { auditTranscripts } from './transcript-audit.js';
import type { World, WorldAuthRegistry, WorldHarbor, WorldTlsDaemon, WorldTokenRegistry } from './world.js';

const BASE_IMAGE = 'imgtool-test/busybox:1.0';
const CERTS_D = '/etc/docker/certs.d';

/** A fresh password: URL-safe, long, unique per run. */
const password = (): string => randomBytes(18).toString('base64url');

type Stops = Array<() => Promise<void>>;

async function startBasic(tmp: string, secrets: string[], stops: Stops): Promise<WorldAuthRegistry> {
  const username = 'ci-user';
  const pass = password();
  secrets.push(pass);
  const dir = join(tmp, 'r-basic');
  mkdirSync(dir, { recursive: true });
  writeHtpasswd(join(dir, 'htpasswd'), username, pass);
  const reg = await startRegistry(dir, {
    authYaml: ['auth:', '  htpasswd:', '    realm: basic-realm', `    path: ${join(dir, 'htpasswd')}`].join('\n'),
  });
  stops.push(reg.stop);
  return { host: reg.host, url: `http://${reg.host}`, username, password: pass, dataDir: reg.dataDir };
}

async function startTls(tmp: string, pki: TestPki, secrets: string[], stops: Stops, removeLater: (p: string) => void): Promise<World['tls']> {
  const username = 'tls-user';
  const pass = password();
  secrets.push(pass);
  const dir = join(tmp, 'r-tls');
  mkdirSync(dir, { recursive: true });
  writeHtpasswd(join(dir, 'htpasswd'), username, pass);
  const reg = await startRegistry(dir, {
    scheme: 'https',
    caFile: pki.caCert,
    tlsYaml: ['  tls:', `    certificate: ${pki.serverCert}`, `    key: ${pki.serverKey}`].join('\n'),
    authYaml: ['auth:', '  htpasswd:', '    realm: tls-realm', `    path: ${join(dir, 'htpasswd')}`].join('\n'),
  });
  stops.push(reg.stop);
  const host = `localhost:${reg.port}`;
  // The daemons (and skopeo) trust a registry's CA from certs.d/<host:port>/ca.crt.
  const certsDir = join(CERTS_D, host);
  removeLater(certsDir);
  mkdirSync(certsDir, { recursive: true });
  copyFileSync(pki.caCert, join(certsDir, 'ca.crt'));
  return { host, url: `https://${host}`, ipHost: `127.0.0.1:${reg.port}`, username, password: pass, caFile: pki.caCert, dataDir: reg.dataDir };
}

function tokenAuthYaml(realm: string, service: string, issuer: string, pki: TestPki): string {
  return ['auth:', '  token:', `    realm: ${realm}`, `    service: ${service}`, `    issuer: ${issuer}`, `    rootcertbundle: ${pki.tokenCert}`].join('\n');
}

async function startHarbor(tmp: string, pki: TestPki, secrets: string[], stops: Stops, onIssue: (s: string) => void): Promise<WorldHarbor> {
  const service = 'harbor-registry';
  const issuer = 'harbor-token-issuer';
  const ci: TokenAccount = { username: 'robot$team+ci', password: password(), grants: [{ pattern: 'team/*', actions: ['pull', 'push'] }] };
  const reader: TokenAccount = { username: 'robot$team+reader', password: password(), grants: [{ pattern: 'team/*', actions: ['pull'] }] };
  secrets.push(ci.password, reader.password);
  const frontPort = await freePort();
  const realm = `http://127.0.0.1:${frontPort}/service/token`;
  const reg = await startRegistry(join(tmp, 'r-harbor'), { authYaml: tokenAuthYaml(realm, service, issuer, pki) });
  stops.push(reg.stop);
  const token = tokenHandler({
    issuer, service, signingKeyFile: pki.tokenKey, signingCertFile: pki.tokenCert,
    accounts: [ci, reader], oauthPost: false, expiresIn: 1800, onIssue,
  });
  const front = await startHarborFront({ port: frontPort, registryHost: reg.host, token: token.handle, projects: ['team'] });
  stops.push(front.stop);
  return {
    host: front.host, url: `http://${front.host}`, username: ci.username, password: ci.password, realm, service, issuer,
    namespace: 'team/', project: 'team', reader: { username: reader.username, password: reader.password }, backendHost: reg.host, dataDir: reg.dataDir,
  };
}

async function startHub(tmp: string, pki: TestPki, secrets: string[], stops: Stops, onIssue: (s: string) => void): Promise<WorldTokenRegistry> {
  const service = 'registry.docker.io';
  const issuer = 'auth.docker.io';
  const user: TokenAccount = {
    username: 'imgtooltest',
    password: password(),
    // Hub: push/pull in your own namespace, pull of anything else (public images).
    grants: [{ pattern: 'imgtooltest/*', actions: ['pull', 'push'] }, { pattern: '*', actions: ['pull'] }],
  };
  secrets.push(user.password);
  const authPort = await freePort();
  const realm = `http://127.0.0.1:${authPort}/token`;
  const auth = await startTokenService(
    { issuer, service, signingKeyFile: pki.tokenKey, signingCertFile: pki.tokenCert, accounts: [user], anonymousGrants: [{ pattern: '*', actions: ['pull'] }], oauthPost: true, expiresIn: 300, onIssue },
    authPort,
    '/token',
  );
  stops.push(auth.stop);
  const reg = await startRegistry(join(tmp, 'r-hub'), { authYaml: tokenAuthYaml(realm, service, issuer, pki) });
  stops.push(reg.stop);
  return { host: reg.host, url: `http://${reg.host}`, username: user.username, password: user.password, realm, service, issuer, namespace: 'imgtooltest/', dataDir: reg.dataDir };
}

async function startDockerTls(tmp: string, pki: TestPki, stops: Stops): Promise<{ daemon: RunningDaemon; tls: WorldTlsDaemon }> {
  const port = await freePort();
  const daemon = await startDockerd(join(tmp, 't'), [
    '-H', `tcp://127.0.0.1:${port}`,
    '--tlsverify', '--tlscacert', pki.caCert, '--tlscert', pki.serverCert, '--tlskey', pki.serverKey,
  ]);
  stops.push(daemon.stop);
  return { daemon, tls: { host: `tcp://127.0.0.1:${port}`, certPath: pki.clientCertDir, socketPath: daemon.socketPath, dir: daemon.dir } };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.getuid?.() !== 0) throw new Error('test world: the integration tests start a private dockerd and must run as root');
  // Short prefix: the dockerd socket path must stay under 107 bytes.
  const tmp = mkdtempSync('/tmp/itw-');
  const reaper = startReaper(tmp);
  const stops: Stops = [];
  let audit: (() => void) | undefined;
  const teardown = async (): Promise<void> => {
    // The secrets audit reads the transcripts under tmp, so it runs before anything is removed;
    // its failure is raised only after the world is gone.
    let failure: unknown;
    try {
      audit?.();
    } catch (err) {
      failure = err;
    }
    // Graceful stops first (dockerd stops its containers), then the reaper sweeps the rest.
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await reaper.finish();
    if (failure !== undefined) throw failure;
  };
  try {
    const started = Date.now();
    const pki = makePki(join(tmp, 'pki'));
    const secrets: string[] = [];
    const secretsFile = join(tmp, 'issued-secrets.txt');
    writeFileSync(secretsFile, '');
    const onIssue = (s: string): void => appendFileSync(secretsFile, `${s}\n`);
    const [docker, dockerTls, open, basic, tls, harbor, hub] = await Promise.all([
      startDockerd(join(tmp, 'd')).then((d) => (stops.push(d.stop), d)),
      startDockerTls(tmp, pki, stops),
      startRegistry(join(tmp, 'r-open')).then((r) => (stops.push(r.stop), r)),
      startBasic(tmp, secrets, stops),
      startTls(tmp, pki, secrets, stops, reaper.removeLater),
      startHarbor(tmp, pki, secrets, stops, onIssue),
      startHub(tmp, pki, secrets, stops, onIssue),
    ]);
    buildBaseImage(docker.host, join(tmp, 'base'), BASE_IMAGE);
    // The TLS daemon gets the same base image (identical ID) so tests can build there too.
    const saved = join(tmp, 'base', 'base.tar');
    dockerCli(docker.host, ['save', '-o', saved, BASE_IMAGE]);
    dockerCli(dockerTls.daemon.host, ['load', '-q', '-i', saved]);
    const world: World = {
      docker: { host: docker.host, socketPath: docker.socketPath, dir: docker.dir },
      dockerTls: dockerTls.tls,
      open: { host: open.host, url: `http://${open.host}`, dataDir: open.dataDir },
      basic,
      tls,
      harbor,
      hub,
      pki: {
        dir: pki.dir, caCert: pki.caCert, caKey: pki.caKey, serverCert: pki.serverCert, serverKey: pki.serverKey,
        clientCert: pki.clientCert, clientKey: pki.clientKey, clientCertDir: pki.clientCertDir,
      },
      baseImage: BASE_IMAGE,
      baseImageTar: saved,
      secrets,
      secretsFile,
      tmp,
    };
    process.stderr.write(`test world ready in ${Date.now() - started} ms under ${tmp}\n`);
    project.provide('world', world);
    audit = () => auditSecrets(project, world);
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}

/** The audit's floor for a whole-suite run, so that it cannot pass by having read nothing. */
const MIN_INVOCATIONS = 150;
const MIN_DEBUG_INVOCATIONS = 10;
const MIN_TEST_FILES = 10;

/** Integration test files on disk (what a whole-suite run must have run). */
function integrationTestFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
}

/**
 * Issue 7, "Secrets": everything imgtool printed in this run (all harnesses record into
 * `<tmp>/transcripts`) must hold none of the run's passwords or tokens in any encoding. A
 * whole-suite run must also have audited a meaningful amount of output. Failing sets the exit
 * code itself: vitest 4 only logs errors thrown by a globalSetup teardown.
 */
function auditSecrets(project: TestProject, w: World): void {
  const accounts = [w.basic, w.tls, w.harbor, w.harbor.reader, w.hub].map(({ username, password }) => ({ username, password }));
  const r = auditTranscripts(w.tmp, { secrets: w.secrets, secretsFile: w.secretsFile, accounts });
  const root = project.config.root;
  const ran = new Set(project.vitest.state.getFiles().filter((f) => f.projectName === project.name).map((f) => f.filepath));
  const all = integrationTestFiles(join(root, 'test/integration'));
  const wholeSuite = all.every((f) => ran.has(f)) && !project.config.testNamePattern;
  process.stderr.write(
    `secrets audit: ${r.invocations} imgtool invocations (${r.debugInvocations} with --debug) from ${r.testFiles} test files, ` +
      `${r.bytes} bytes of output (${r.writtenFiles} files imgtool wrote) searched for ${r.secrets} secrets in ${r.forms} forms: ${r.hits.length} hits` +
      `${wholeSuite ? '' : ` (partial run: ${ran.size}/${all.length} integration files)`}\n`,
  );
  const problems: string[] = r.hits.slice(0, 50).map((h) => `  ${h.kind} in ${h.part} of ${h.label} (${h.file} > ${h.test})`);
  if (r.hits.length > 50) problems.push(`  ... and ${r.hits.length - 50} more hits`);
  if (r.unparsed > 0) problems.push(`  ${r.unparsed} transcript lines did not parse (torn writes?)`);
  if (wholeSuite) {
    if (r.invocations < MIN_INVOCATIONS) problems.push(`  only ${r.invocations} invocations recorded (expected >= ${MIN_INVOCATIONS}): is a harness not calling recordImgtoolRun?`);
    if (r.debugInvocations < MIN_DEBUG_INVOCATIONS) problems.push(`  only ${r.debugInvocations} --debug invocations recorded (expected >= ${MIN_DEBUG_INVOCATIONS})`);
    if (r.testFiles < MIN_TEST_FILES) problems.push(`  only ${r.testFiles} test files recorded output (expected >= ${MIN_TEST_FILES})`);
  }
  if (problems.length > 0) {
    process.exitCode = 1;
    throw new Error(`secrets audit failed:\n${problems.join('\n')}`);
  }
}

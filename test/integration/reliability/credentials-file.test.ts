/**
 * config.json under faults (issue 7), with `imgtool login` as a real process against the
 * world's Basic-auth registry:
 * - SIGKILLed at seeded random moments around its write, over and over: config.json always
 *   parses, keeps every other entry and unknown key, and the next login still works (a lock
 *   left by a killed process is taken over);
 * - a corrupt config.json is reported with its path and is never overwritten.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/registry/credentials/index.js';
import { leakedSecrets, world } from '../../world/world.js';
import { buildCli, removeBuild } from '../registry/credentials-harness.js';
import { caseSeed, Rng } from '../../unit/fuzz/support.js';
import { exitOf, startImgtool, uniq } from './helpers.js';

let main: string;
const printed: string[] = [];
const SEED = 0x10c4;
/** Logins to kill; a kill inside the lock window costs the next one the 10 s stale-lock wait. */
const LOGINS = 24;

beforeAll(async () => {
  main = await buildCli();
}, 600_000);

afterAll(async () => {
  await removeBuild();
  expect(leakedSecrets(printed.join('\n'))).toEqual([]);
});

function configDir(label: string): string {
  const dir = join(world().tmp, `rel-${label}-${uniq()}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function envFor(cfg: string): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cfg, DOCKER_CONFIG: cfg, NO_COLOR: '1' };
}

describe('config.json and a login killed mid-write', () => {
  it('SIGKILL at random moments never leaves config.json truncated or invalid, nor loses other entries', async () => {
    const { basic } = world();
    const cfg = configDir('kill');
    // A big file with entries that must survive every interrupted rewrite.
    const others: Record<string, { auth: string }> = {};
    for (let i = 0; i < 300; i++) others[`keep-${i}.example.com`] = { auth: Buffer.from(`u${i}:p${i}`).toString('base64') };
    const path = join(cfg, 'config.json');
    writeFileSync(path, JSON.stringify({ auths: others, psFormat: 'table {{.ID}}', detachKeys: 'ctrl-q' }, null, '\t'));
    // The same registry under three config keys, so consecutive logins really rewrite the file.
    const port = basic.host.split(':')[1] as string;
    const servers = [basic.host, `localhost:${port}`, `127.0.0.1:${port}`];
    const login = (i: number) => startImgtool(main, ['login', '-u', basic.username, '--password-stdin', servers[i % servers.length] as string], envFor(cfg), `${basic.password}\n`);

    // How long one complete login takes here: kill points are spread around that span.
    const t0 = Date.now();
    const full = login(0);
    const fullCode = await exitOf(full, 'a complete login');
    printed.push(full.stdout(), full.stderr());
    expect(fullCode, full.stderr()).toBe(0);
    const span = Date.now() - t0;

    const rng = new Rng(caseSeed(SEED, 0));
    let killed = 0;
    let completed = 0;
    for (let i = 1; i <= LOGINS; i++) {
      const run = login(i);
      const delay = Math.floor(span * (0.3 + rng.float() * 0.9));
      await sleep(delay);
      if (run.child.exitCode === null) {
        run.child.kill('SIGKILL');
        killed++;
      }
      const code = await exitOf(run, `login ${i}`);
      printed.push(run.stdout(), run.stderr());
      if (code === 0) completed++;
      // Whatever the moment, the file is whole: it parses and holds everything it held before.
      const text = readFileSync(path, 'utf8');
      const content = parseConfig(path, text);
      expect(Object.keys(content.auths ?? {}).filter((k) => k.startsWith('keep-')).length, `after login ${i} (killed after ${delay} ms, seed ${SEED})`).toBe(300);
      expect((content as Record<string, unknown>)['psFormat']).toBe('table {{.ID}}');
    }
    // Some runs must really have been cut short, or the test proved nothing.
    expect(killed).toBeGreaterThan(5);
    // And after all that, a login still completes (a stale lock is taken over) and is stored.
    const last = login(0);
    const lastCode = await exitOf(last, 'the final login', 120_000);
    printed.push(last.stdout(), last.stderr());
    expect(lastCode, last.stderr()).toBe(0);
    const content = parseConfig(path, readFileSync(path, 'utf8'));
    expect(content.auths?.[basic.host]?.auth).toBe(Buffer.from(`${basic.username}:${basic.password}`).toString('base64'));
    expect(Object.keys(content.auths ?? {}).length).toBeGreaterThanOrEqual(301);
    console.log(`login kill loop: ${LOGINS} logins, ${killed} killed, ${completed} completed, seed ${SEED}, leftover files: ${readdirSync(cfg).filter((f) => f !== 'config.json').join(' ') || 'none'}`);
  }, 400_000);

  it('a corrupt config.json is reported with its path and never overwritten', async () => {
    const { basic } = world();
    const cfg = configDir('corrupt');
    const path = join(cfg, 'config.json');
    const corrupt = '{"auths": {"keep.example.com": {"auth": "dTpw"}}, "credsStore": ';
    writeFileSync(path, corrupt);
    for (const argv of [
      ['login', '-u', basic.username, '--password-stdin', basic.host],
      ['logout', basic.host],
    ]) {
      const run = startImgtool(main, argv, envFor(cfg), `${basic.password}\n`);
      const code = await exitOf(run, argv[0] as string);
      printed.push(run.stdout(), run.stderr());
      expect(code, run.stderr()).toBe(1);
      expect(run.stderr()).toContain(path);
      expect(run.stderr()).toMatch(/not a valid docker config file|not JSON/);
      expect(readFileSync(path, 'utf8')).toBe(corrupt);
    }
  });
});

/**
 * Fuzzing the credentials loader (issue 7): random config.json files (JSON of every shape,
 * non-JSON, wrong types, prototype-looking keys) and DOCKER_AUTH_CONFIG values, read for random
 * registry names, and stores on top of them. Every case ends in credentials/anonymous or an
 * ImgtoolError; a store over a file that cannot be read fails and leaves the file untouched.
 */
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isImgtoolError } from '../../../src/image/errors.js';
import { parseConfig, resolveCredentialsWithSource, storeCredentials, eraseCredentials } from '../../../src/registry/credentials/index.js';
import { fuzz, nastyText, type Rng, isReplay } from './support.js';

const KEYS = ['auths', 'credsStore', 'credHelpers', 'auth', 'username', 'password', 'identitytoken', 'registrytoken', 'email', 'serveraddress', '__proto__', 'constructor', 'toString', 'https://index.docker.io/v1/', 'r.example:5000', 'docker.io'];
const REGISTRIES = ['docker.io', 'index.docker.io', 'https://index.docker.io/v1/', 'r.example:5000', 'http://r.example:5000/v2/', 'localhost', 'constructor', '__proto__', 'toString', 'hasOwnProperty', ''];

function value(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, 1, -1, 1e300]);
    case 3:
      return rng.pick(['', 'dTpw', 'dXNlcjpwYXNz', '!!notbase64', 'OnBhc3M=', 'dXNlcg==', 'desktop', 'pass', 'osxkeychain']);
    case 4:
    case 5:
      return nastyText(rng, 2);
    case 6:
      return Array.from({ length: rng.int(3) }, () => value(rng, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(5); i > 0; i--) o[rng.pick(KEYS)] = value(rng, depth + 1);
      return o;
    }
  }
}

/** A config with the right types but random keys and values (reaches past validation). */
function wellTyped(rng: Rng): object {
  const str = (): string => (rng.chance(0.5) ? rng.pick(['dXNlcjpwYXNz', 'OnBhc3M=', 'dXNlcg==', '', 'x']) : nastyText(rng, 2));
  const auths: Record<string, Record<string, string>> = {};
  for (let i = rng.int(4); i > 0; i--) {
    const e: Record<string, string> = {};
    for (const f of ['auth', 'username', 'password', 'identitytoken', 'registrytoken', 'email']) if (rng.chance(0.4)) e[f] = str();
    auths[rng.chance(0.6) ? rng.pick(REGISTRIES) : nastyText(rng, 2)] = e;
  }
  const helpers: Record<string, string> = {};
  if (rng.chance(0.2)) helpers[rng.pick(REGISTRIES)] = rng.pick(['gcloud', 'ecr-login', '../../bin/sh', nastyText(rng, 1)]);
  return { auths, ...(Object.keys(helpers).length ? { credHelpers: helpers } : {}) };
}

interface Input {
  readonly file?: string;
  readonly envAuth?: string;
  readonly registry: string;
  readonly store?: { username: string; password: string };
}

function generate(rng: Rng): Input {
  const good = { auths: { 'r.example:5000': { auth: 'dXNlcjpwYXNz' }, 'https://index.docker.io/v1/': { auth: 'dTpw', email: 'x' } } };
  const r = rng.float();
  const file =
    r < 0.1 ? undefined
    : r < 0.3 ? JSON.stringify(value(rng))
    : r < 0.55 ? JSON.stringify(wellTyped(rng))
    : r < 0.8 ? JSON.stringify({ auths: value(rng), ...(rng.chance(0.3) ? { credHelpers: value(rng) } : {}), ...(rng.chance(0.1) ? { credsStore: value(rng) } : {}) })
    : JSON.stringify(good).slice(0, rng.int(80)) + nastyText(rng, 2);
  return {
    ...(file === undefined ? {} : { file }),
    ...(rng.chance(0.2) ? { envAuth: rng.chance(0.5) ? JSON.stringify({ auths: value(rng) }) : nastyText(rng, 3) } : {}),
    registry: rng.chance(0.8) ? rng.pick(REGISTRIES) : nastyText(rng, 2),
    ...(rng.chance(0.3) ? { store: { username: nastyText(rng, 1) || 'u', password: 'p' } } : {}),
  };
}

async function run(input: Input, ctx: { tmp: string; signal: AbortSignal }): Promise<unknown> {
  const dir = join(ctx.tmp, 'docker');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'config.json');
  if (input.file !== undefined) writeFileSync(path, input.file);
  // No credential helpers on PATH: a configured helper must fail with a coded error, not a crash.
  const opts = { env: { DOCKER_CONFIG: dir, PATH: ctx.tmp, HOME: ctx.tmp, ...(input.envAuth === undefined ? {} : { DOCKER_AUTH_CONFIG: input.envAuth }) }, signal: ctx.signal, warn: () => {} };
  // "Readable" is the file level: JSON with the right types. A bad entry for one registry is
  // reported on read but may be replaced by a login, as the docker CLI does.
  let readable = true;
  try {
    if (input.file !== undefined) parseConfig(path, input.file);
  } catch {
    readable = false;
  }
  try {
    await resolveCredentialsWithSource(input.registry, opts);
  } catch (err) {
    if (isImgtoolError(err, 'CREDENTIALS_CONFIG_INVALID') && !String(err.message).includes(path) && err.details.file !== path) {
      throw new Error(`config error does not name ${path}: ${String(err)}`);
    }
    if (!input.store) throw err;
  }
  if (!input.store) return undefined;
  const before = existsSync(path) ? readFileSync(path) : undefined;
  try {
    await storeCredentials(input.registry, input.store, opts);
    // After a store the file must be valid JSON holding an auths object.
    const after = JSON.parse(readFileSync(path, 'utf8')) as { auths?: unknown };
    if (typeof after.auths !== 'object' || after.auths === null) throw new Error('store left config.json without auths');
    await eraseCredentials(input.registry, opts);
    JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    if (!readable) {
      // Never overwrite a file imgtool cannot read.
      const now = existsSync(path) ? readFileSync(path) : undefined;
      if (before === undefined || now === undefined || !before.equals(now)) throw new Error('a config.json imgtool could not read was changed');
    }
    throw err;
  }
  if (!readable) throw new Error('store succeeded over a config.json that could not be read');
  return undefined;
}

describe('fuzz: credentials loader (config.json, DOCKER_AUTH_CONFIG)', () => {
  it('random config files end in credentials or an ImgtoolError; unreadable files are never overwritten', async () => {
    const report = await fuzz<Input>({ name: 'config-json-loader', seed: 0xc0de, cases: 2000, generate, run });
    if (!isReplay()) expect(report.errors['CREDENTIALS_CONFIG_INVALID']).toBeGreaterThan(0);
    if (!isReplay()) expect(report.ok).toBeGreaterThan(100);
  }, 300_000);
});

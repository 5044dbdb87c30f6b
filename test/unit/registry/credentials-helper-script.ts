/**
 * A real docker-credential-helpers program for tests: `docker-credential-<name>` written into
 * a bin directory, speaking the protocol (store/get/erase/list, errors on stdout, exit 1,
 * "credentials not found in native keychain") and keeping its secrets in a JSON file. It
 * stands in for pass/secretservice/osxkeychain, which need a desktop session.
 *
 * Env it reads: TEST_HELPER_DIR (storage + call log), TEST_HELPER_FAIL (print that message on
 * stdout and exit 1 for every action).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const SCRIPT = `
const fs = require('node:fs');
const path = require('node:path');
const dir = process.env.TEST_HELPER_DIR;
const action = process.argv[2];
const input = fs.readFileSync(0, 'utf8');
const storeFile = path.join(dir, 'store.json');
const load = () => { try { return JSON.parse(fs.readFileSync(storeFile, 'utf8')); } catch { return {}; } };
const save = (s) => fs.writeFileSync(storeFile, JSON.stringify(s));
// The call log records actions and server URLs only, never secrets.
const server = action === 'store' ? JSON.parse(input).ServerURL : input.trim();
fs.appendFileSync(path.join(dir, 'calls.log'), action + ' ' + server + '\\n');
if (process.env.TEST_HELPER_FAIL) { process.stdout.write(process.env.TEST_HELPER_FAIL + '\\n'); process.stderr.write('helper stderr detail\\n'); process.exit(1); }
const s = load();
if (action === 'store') { const c = JSON.parse(input); s[c.ServerURL] = { Username: c.Username, Secret: c.Secret }; save(s); }
else if (action === 'get') { const c = s[server]; if (!c) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); } process.stdout.write(JSON.stringify({ ServerURL: server, Username: c.Username, Secret: c.Secret })); }
else if (action === 'erase') { if (!s[server]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); } delete s[server]; save(s); }
else if (action === 'list') { const o = {}; for (const k of Object.keys(s)) o[k] = s[k].Username; process.stdout.write(JSON.stringify(o)); }
else { process.stdout.write('unknown action ' + action + '\\n'); process.exit(1); }
`;

/** Writes `docker-credential-<name>` into `binDir` (executable, run by this node binary). */
export async function installTestHelper(binDir: string, name: string): Promise<string> {
  await mkdir(binDir, { recursive: true });
  const file = join(binDir, `docker-credential-${name}`);
  await writeFile(file, `#!${process.execPath}\n${SCRIPT}`);
  await chmod(file, 0o755);
  return file;
}

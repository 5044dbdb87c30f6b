/**
 * Kill safety: a process SIGKILLed while it writes config.json leaves a file that parses and
 * holds every entry whose store had completed. The writer runs in a separate node process,
 * from this repository's sources transpiled on the fly (no build step needed).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(new URL(import.meta.url).pathname), '../../..');
let dir: string;

async function transpile(files: string[], out: string): Promise<void> {
  for (const file of files) {
    const src = await readFile(join(root, file), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const dest = join(out, file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(dest), { recursive: true });
    await writeFile(dest, js);
  }
  await writeFile(join(out, 'package.json'), '{"type":"module"}');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imgtool-kill-'));
  const credDir = 'src/registry/credentials';
  const credFiles = (await readdir(join(root, credDir))).filter((f) => f.endsWith('.ts')).map((f) => `${credDir}/${f}`);
  await transpile(['src/image/errors.ts', 'src/image/reference.ts', ...credFiles], join(dir, 'lib'));
  await writeFile(
    join(dir, 'writer.mjs'),
    `import { storeCredentials } from './lib/src/registry/credentials/index.js';
const [cfg, prefix] = process.argv.slice(2);
for (let i = 0; ; i++) {
  await storeCredentials(prefix + i + '.example.com', { username: 'u' + i, password: 'p' + i }, { env: { DOCKER_CONFIG: cfg } });
  process.stdout.write('stored ' + i + '\\n');
}
`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('config.json survives SIGKILL mid-write', () => {
  it('parses after each kill and holds every completed entry', async () => {
    const cfg = join(dir, 'cfg');
    await mkdir(cfg);
    await writeFile(join(cfg, 'config.json'), JSON.stringify({ auths: {}, psFormat: 'keep-me' }));
    const confirmed: string[] = [];
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, [join(dir, 'writer.mjs'), cfg, `r${round}-`], { stdio: ['ignore', 'pipe', 'inherit'] });
      let buf = '';
      // Kill after a varying number of completed stores, i.e. somewhere inside a later write.
      const killAfter = 3 + round * 4;
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? '';
          for (const l of lines) {
            const n = Number(l.split(' ')[1]);
            confirmed.push(`r${round}-${n}.example.com`);
            if (n + 1 >= killAfter) child.kill('SIGKILL');
          }
        });
        child.on('close', () => resolve());
      });
      const content = JSON.parse(await readFile(join(cfg, 'config.json'), 'utf8')) as { auths: Record<string, unknown>; psFormat: string };
      expect(content.psFormat).toBe('keep-me');
      for (const key of confirmed) expect(Object.keys(content.auths)).toContain(key);
      // A kill inside the critical section leaves the lock; the stale-lock path has its own
      // test, so remove it here rather than wait out the stale period.
      await rm(join(cfg, 'config.json.lock'), { force: true });
    }
    expect(confirmed.length).toBeGreaterThanOrEqual(6 * 3);
    const leftovers = (await readdir(cfg)).filter((f) => f !== 'config.json');
    // Only temp files of killed writes can remain (never a partial config.json).
    for (const f of leftovers) expect(f).toMatch(/^\.[0-9a-f]{12}\.config\.json\.tmp$/);
  });
});

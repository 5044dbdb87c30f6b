/**
 * The suite-wide secrets audit (test/world/transcript-audit.ts) finds each form a leaked
 * secret can take, names where it was without printing it, and stays quiet on clean output.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { auditTranscripts, TRANSCRIPT_DIR, type AuditSecrets } from '../../world/transcript-audit.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { tmp: string; w: AuditSecrets; token: string; record: (text: string, debug?: boolean) => void } {
  const tmp = mkdtempSync(join(tmpdir(), 'audit-'));
  dirs.push(tmp);
  mkdirSync(join(tmp, TRANSCRIPT_DIR));
  const password = randomBytes(18).toString('base64url');
  const token = `eyJhbGciOiJSUzI1NiJ9.${randomBytes(120).toString('base64url')}.${randomBytes(256).toString('base64url')}`;
  writeFileSync(join(tmp, 'issued.txt'), `${token}\n`);
  const w: AuditSecrets = { secrets: [password], secretsFile: join(tmp, 'issued.txt'), accounts: [{ username: 'ci-user', password }] };
  const record = (text: string, debug = false): void =>
    appendFileSync(join(tmp, TRANSCRIPT_DIR, '1-1.jsonl'), `${JSON.stringify({ file: 'f.test.ts', test: 't', label: 'h: imgtool push', debug, parts: [{ name: 'stdout', text: '' }, { name: 'stderr', text }] })}\n`);
  return { tmp, w, token, record };
}

describe('secrets audit over transcripts', () => {
  it('counts clean output and reports no hit', () => {
    const { tmp, w, record } = setup();
    record('→ PUT /v2/x/blobs/uploads/1 Authorization: Bearer <redacted>\n', true);
    record(`digest: sha256:${randomBytes(32).toString('hex')} ${randomBytes(300).toString('base64')}`);
    const r = auditTranscripts(tmp, w);
    expect(r).toMatchObject({ invocations: 2, debugInvocations: 1, testFiles: 1, hits: [] });
    expect(r.bytes).toBeGreaterThan(300);
  });

  it.each([
    ['raw password', (p: string) => `login with ${p} ok`, 'password'],
    ['base64 of user:password (config.json auth)', (p: string) => `"auth":"${Buffer.from(`ci-user:${p}`).toString('base64')}"`, 'user:password (base64, config.json auth / Basic)'],
    ['base64url of the password', (p: string) => `x=${Buffer.from(p).toString('base64url')}`, 'password (base64url)'],
    ['an X-Registry-Auth JSON', (p: string) => `X-Registry-Auth: ${Buffer.from(JSON.stringify({ serveraddress: 'h', username: 'u', password: p })).toString('base64url')}`, 'password inside a base64 run'],
  ])('finds the %s and names it without printing it', (_what, leak, kind) => {
    const { tmp, w, record } = setup();
    const password = w.secrets[0] as string;
    record(`before\n${leak(password)}\nafter`);
    const r = auditTranscripts(tmp, w);
    expect(r.hits.map((h) => h.kind).join('; ')).toContain(kind);
    expect(r.hits[0]).toMatchObject({ file: 'f.test.ts', test: 't', label: 'h: imgtool push', part: 'stderr' });
    expect(JSON.stringify(r)).not.toContain(password);
  });

  it('finds an issued token, and a torn line still gets searched', () => {
    const { tmp, w, token, record } = setup();
    record(`Bearer ${token}`);
    appendFileSync(join(tmp, TRANSCRIPT_DIR, '2-1.jsonl'), `{"file":"g","parts":[{"text":"${token.slice(0, 40)}`);
    appendFileSync(join(tmp, TRANSCRIPT_DIR, '2-1.jsonl'), `${token.slice(40)}\n`);
    const r = auditTranscripts(tmp, w);
    expect(r.hits.map((h) => h.kind)).toEqual(['issued token', 'issued token']);
    expect(r.unparsed).toBe(1);
    expect(JSON.stringify(r)).not.toContain(token);
  });
});

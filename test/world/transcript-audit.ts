/**
 * The suite-wide secrets audit (issue 7): reads every transcript the harnesses recorded
 * (transcript.ts) and looks for the run's passwords and issued tokens in every form that
 * carries them: raw, base64 and base64url of the secret, base64/base64url of `user:password`
 * (config.json `auth`, Basic headers), and any secret inside a decoded base64 run (e.g. an
 * X-Registry-Auth JSON). Runs in the main vitest process at world teardown, so it imports
 * nothing from vitest's worker runtime. Hits name the file, test, invocation and kind of
 * secret, never the secret itself.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Directory under the world's tmp where the harnesses append transcripts. */
export const TRANSCRIPT_DIR = 'transcripts';

/** What the audit needs from the world. */
export interface AuditSecrets {
  /** Passwords made at setup. */
  readonly secrets: readonly string[];
  /** File the token services append issued tokens to (one a line). */
  readonly secretsFile: string;
  /** Accounts, for the `user:password` encodings. */
  readonly accounts: ReadonlyArray<{ readonly username: string; readonly password: string }>;
}

/** One secret found in a transcript. */
export interface AuditHit {
  readonly file: string;
  readonly test: string;
  readonly label: string;
  /** stdout, stderr, --metadata-file, ... */
  readonly part: string;
  /** e.g. `password (base64)`; never the secret. */
  readonly kind: string;
}

/** What the audit read and found. */
export interface AuditResult {
  readonly transcriptFiles: number;
  readonly invocations: number;
  readonly debugInvocations: number;
  readonly bytes: number;
  /** Files imgtool wrote (--metadata-file, --iidfile, --digest-file) among the parts. */
  readonly writtenFiles: number;
  /** Test files that recorded at least one invocation. */
  readonly testFiles: number;
  /** Distinct secrets searched for (before encodings). */
  readonly secrets: number;
  /** Forms searched for (secrets times encodings). */
  readonly forms: number;
  readonly hits: AuditHit[];
  /** Lines that did not parse (a torn write): counted, their raw text still searched. */
  readonly unparsed: number;
}

interface Form {
  readonly text: string;
  readonly kind: string;
}

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const b64url = (s: string): string => Buffer.from(s).toString('base64url');

/** Every form of every secret, with its kind. */
function secretForms(w: AuditSecrets): Form[] {
  let issued: string[] = [];
  try {
    issued = readFileSync(w.secretsFile, 'utf8').split('\n').filter(Boolean);
  } catch {
    /* no token was issued */
  }
  const forms = new Map<string, string>();
  const add = (text: string, kind: string): void => {
    if (text.length < 8) return;
    const known = forms.get(text);
    // base64 and base64url of the same bytes often coincide: one form, both kinds named.
    forms.set(text, known === undefined || known === kind ? kind : `${known} / ${kind}`);
  };
  const raw: Form[] = [...w.secrets.map((s) => ({ text: s, kind: 'password' })), ...issued.map((s) => ({ text: s, kind: 'issued token' }))];
  for (const { text, kind } of raw) {
    add(text, kind);
    add(b64(text), `${kind} (base64)`);
    add(b64url(text), `${kind} (base64url)`);
    // Unpadded base64 of a secret embedded at a 3-byte boundary: drop the padding chars.
    add(b64(text).replace(/=+$/, ''), `${kind} (base64, unpadded)`);
  }
  for (const { username, password } of w.accounts) {
    add(b64(`${username}:${password}`), 'user:password (base64, config.json auth / Basic)');
    add(b64url(`${username}:${password}`), 'user:password (base64url)');
  }
  return [...forms].map(([text, kind]) => ({ text, kind }));
}

/** Window length used to index forms. */
const KEY = 8;

/**
 * A matcher for many needles in one pass over the text. Every form has at least `min`
 * characters, so any occurrence of it covers one text position that is a multiple of
 * `step = min - KEY + 1` with an 8-character window inside the form's last `min` characters.
 * Those windows are indexed (tails, because JWTs share a header prefix but never a
 * signature), and only every `step`-th position of the text is looked up.
 */
function matcher(forms: Form[]): (text: string) => Set<string> {
  const min = Math.min(...forms.map((f) => f.text.length));
  if (!Number.isFinite(min) || min < KEY) return () => new Set();
  const step = min - KEY + 1;
  const index = new Map<string, Array<{ form: Form; offset: number }>>();
  for (const form of forms) {
    const tailStart = form.text.length - min;
    for (let o = tailStart; o + KEY <= form.text.length; o++) {
      const key = form.text.slice(o, o + KEY);
      const list = index.get(key);
      if (list) list.push({ form, offset: o });
      else index.set(key, [{ form, offset: o }]);
    }
  }
  return (text) => {
    const kinds = new Set<string>();
    for (let p = 0; p + KEY <= text.length; p += step) {
      const list = index.get(text.slice(p, p + KEY));
      if (!list) continue;
      for (const { form, offset } of list) {
        const at = p - offset;
        if (at >= 0 && text.startsWith(form.text, at)) kinds.add(form.kind);
      }
    }
    return kinds;
  };
}

/** Base64/base64url runs long enough to hide a secret, decoded. */
function decodedRuns(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/[A-Za-z0-9+/_-]{16,}={0,2}/g)) {
    for (const shift of [0, 1, 2, 3]) out.push(Buffer.from(m[0].slice(shift), 'base64').toString('latin1'));
  }
  return out;
}

/** Reads all transcripts under `tmp` and searches them for every form of every secret. */
export function auditTranscripts(tmp: string, w: AuditSecrets): AuditResult {
  const dir = join(tmp, TRANSCRIPT_DIR);
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.jsonl')) : [];
  const forms = secretForms(w);
  const find = matcher(forms);
  const findRaw = matcher(forms.filter((f) => !f.kind.includes('base64')));
  const hits: AuditHit[] = [];
  const testFiles = new Set<string>();
  let invocations = 0;
  let debugInvocations = 0;
  let bytes = 0;
  let writtenFiles = 0;
  let unparsed = 0;
  for (const name of files) {
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line) continue;
      let entry: { file?: string; test?: string; label?: string; debug?: boolean; parts?: Array<{ name?: string; text?: string }> };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        unparsed++;
        entry = { file: name, label: 'unparsed line', parts: [{ name: 'raw', text: line }] };
      }
      invocations++;
      if (entry.debug) debugInvocations++;
      if (entry.file) testFiles.add(entry.file);
      for (const part of entry.parts ?? []) {
        const text = part.text ?? '';
        if (part.name?.startsWith('--')) writtenFiles++;
        bytes += Buffer.byteLength(text);
        const kinds = find(text);
        for (const decoded of decodedRuns(text)) for (const k of findRaw(decoded)) kinds.add(`${k} inside a base64 run`);
        for (const kind of kinds) hits.push({ file: entry.file ?? name, test: entry.test ?? '', label: entry.label ?? '', part: part.name ?? '?', kind });
      }
    }
  }
  return {
    transcriptFiles: files.length, invocations, debugInvocations, bytes, writtenFiles, testFiles: testFiles.size,
    secrets: w.secrets.length + forms.filter((f) => f.kind.startsWith('issued token') && !f.kind.includes('base64')).length, forms: forms.length, hits, unparsed,
  };
}

/**
 * Suite-wide record of everything imgtool printed (issue 7, "Secrets"): every harness that runs
 * imgtool appends its stdout, stderr and the files it wrote to a transcript under the world's
 * tmp dir; the world's teardown (transcript-audit.ts) greps all of them for the run's
 * passwords and tokens. Per-file checks only see their own output; this sees the whole run.
 *
 * Format: one JSON line per invocation, `{ file, test, label, debug, parts: [{ name, text }] }`,
 * appended to `<tmp>/transcripts/<pid>-<worker>.jsonl` (one writer per file, so lines never
 * interleave).
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { expect } from 'vitest';
import { world } from './world.js';
import { TRANSCRIPT_DIR } from './transcript-audit.js';

/** One recorded invocation (what the audit reads back). */
export interface TranscriptEntry {
  /** Test file, relative to the repository root. */
  readonly file: string;
  /** Full name of the running test, when known. */
  readonly test: string;
  /** What ran, without argument values: e.g. `credentials-harness: imgtool push`. */
  readonly label: string;
  /** Whether the invocation ran with --debug / -D. */
  readonly debug: boolean;
  /** The texts: stdout, stderr, files imgtool wrote. */
  readonly parts: ReadonlyArray<{ readonly name: string; readonly text: string }>;
}

const root = join(new URL('.', import.meta.url).pathname, '../..');

function transcriptFile(): string {
  const dir = join(world().tmp, TRANSCRIPT_DIR);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${process.pid}-${process.env['VITEST_WORKER_ID'] ?? '0'}.jsonl`);
}

function currentTest(): { file: string; test: string } {
  const state = expect.getState();
  return { file: state.testPath ? relative(root, state.testPath) : '?', test: state.currentTestName ?? '' };
}

/**
 * Appends one invocation's output to the run's transcript. `label` names what ran (never put
 * argument values in it: the audit prints labels); `texts` are stdout, stderr, then anything
 * else imgtool printed or wrote. Prefer {@link recordImgtoolRun} when there is an argv.
 */
export function recordImgtoolOutput(label: string, ...texts: string[]): void {
  const names = ['stdout', 'stderr'];
  const parts = texts.map((text, i) => ({ name: names[i] ?? `text${i}`, text }));
  const entry: TranscriptEntry = { ...currentTest(), label, debug: false, parts };
  appendFileSync(transcriptFile(), `${JSON.stringify(entry)}\n`);
}

/** Options whose value is a file imgtool writes; the audit reads those files too. */
const OUTPUT_FILE_FLAGS = ['--metadata-file', '--iidfile', '--digest-file'];

/** The subcommand words of `argv` (letters only: never an option value such as a password). */
function commandWords(argv: readonly string[]): string {
  return argv.filter((a) => /^[a-z]+$/.test(a)).slice(0, 2).join(' ');
}

/**
 * Records one CLI invocation: stdout, stderr, and the files named by --metadata-file,
 * --iidfile and --digest-file (resolved against `cwd`) when imgtool wrote them.
 */
export function recordImgtoolRun(harness: string, argv: readonly string[], out: { readonly stdout: string; readonly stderr: string }, cwd?: string): void {
  const parts: Array<{ name: string; text: string }> = [
    { name: 'stdout', text: out.stdout },
    { name: 'stderr', text: out.stderr },
  ];
  argv.forEach((arg, i) => {
    const flag = OUTPUT_FILE_FLAGS.find((f) => arg === f || arg.startsWith(`${f}=`));
    if (!flag) return;
    const value = arg === flag ? argv[i + 1] : arg.slice(flag.length + 1);
    if (!value || value === '-') return;
    const path = isAbsolute(value) || !cwd ? value : join(cwd, value);
    if (existsSync(path)) parts.push({ name: flag, text: readFileSync(path, 'utf8') });
  });
  const debug = argv.includes('--debug') || argv.includes('-D');
  const entry: TranscriptEntry = { ...currentTest(), label: `${harness}: imgtool ${commandWords(argv)}`, debug, parts };
  appendFileSync(transcriptFile(), `${JSON.stringify(entry)}\n`);
}

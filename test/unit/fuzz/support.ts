/**
 * A small, seeded fuzzing harness for the hostile-input tests (issue 7). Every case is generated
 * from its own seed (derived from the target's base seed and the case number), so a failure
 * prints everything needed to replay exactly that case:
 *
 *   FUZZ_SEED=<base> FUZZ_CASE=<n> npx vitest run --project unit test/unit/fuzz/<target>.test.ts
 *
 * `FUZZ_CASES=<factor>` multiplies the number of cases for a longer local run (CI uses 1).
 * `FUZZ_TRACE=1` prints each case's number before it runs: synchronous code stuck in a loop
 * never returns to the harness, so the last line printed names the case that hung.
 *
 * A case passes when the code under test returns, or throws an ImgtoolError. It fails on any
 * other exception (a crash), when it does not finish within the case's time limit (a hang), or
 * when a file appears outside the scratch directory the case was given (an escape).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { isImgtoolError } from '../../../src/image/errors.js';

/** mulberry32: tiny and deterministic; good enough to pick mutations. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of case `index` of a run with base seed `base` (a 32-bit mix, so neighbours differ). */
export function caseSeed(base: number, index: number): number {
  let h = (base ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A seeded random source with the helpers generators need. */
export class Rng {
  private readonly next: () => number;
  constructor(readonly seed: number) {
    this.next = mulberry32(seed);
  }
  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('fuzz support: pick from an empty list');
    return items[this.int(items.length)] as T;
  }
  /** A string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet: string = PRINTABLE): string {
    const chars = Array.from(alphabet);
    let out = '';
    for (let i = 0; i < length; i++) out += chars[this.int(chars.length)];
    return out;
  }
  /** Random bytes. */
  bytes(length: number): Buffer {
    const b = Buffer.alloc(length);
    for (let i = 0; i < length; i++) b[i] = this.int(256);
    return b;
  }
  /** Picks a length: mostly small, sometimes large, rarely huge (a long-tail distribution). */
  length(small = 16, large = 512, huge = 200_000): number {
    const r = this.next();
    if (r < 0.8) return this.int(small + 1);
    if (r < 0.97) return this.int(large + 1);
    return huge / 2 + this.int(huge / 2);
  }
}

/** Printable ASCII. */
export const PRINTABLE = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~';

/** Characters that tend to break parsers: quotes, escapes, separators, controls, odd Unicode. */
export const NASTY = [
  '"', "'", '\\', '`', '$', '${', '}', '{', '[', ']', '(', ')', '=', ',', ';', ':', '/', '@', '#', '!', '*', '?', '**', '..', '../', '/..',
  '\0', '\t', '\r', '\n', '\r\n', '\u000b', '\u00a0', '\u2028', '\ufeff', '\ud800', '\udfff', '😀', 'é', '\u0301', '%00', '%2e%2e', '\x7f',
  ' ', '  ', '-', '--', '=""', '"\\"', '\\\n', '<<', '<<-EOF', 'EOF', '$(', '$((', '${a:-', '${a:+', '${a#', '${a%%', '${#a}', '${!a}',
];

/** Random text made of printable characters and nasty pieces. */
export function nastyText(rng: Rng, pieces = rng.range(0, 12)): string {
  let out = '';
  for (let i = 0; i < pieces; i++) {
    out += rng.chance(0.5) ? rng.pick(NASTY) : rng.string(rng.range(1, 6));
  }
  return out;
}

/**
 * Mutates a line-based text (Dockerfile, .dockerignore, ...): 1–4 of insert / delete / duplicate /
 * swap lines, splice nasty characters into a line, truncate, add a huge line, change newlines.
 * `extraLines` are snippets worth inserting (e.g. Dockerfile instructions with flags).
 */
export function mutateLines(rng: Rng, text: string, extraLines: readonly string[] = [], hugeMax = 120_000): string {
  let lines = text.split('\n');
  const ops = rng.range(1, 3);
  for (let k = 0; k < ops; k++) {
    const at = rng.int(lines.length + 1);
    switch (rng.int(11)) {
      case 0:
        lines.splice(at, 1);
        break;
      case 1:
        lines.splice(at, 0, lines[rng.int(Math.max(1, lines.length))] ?? '');
        break;
      case 2: {
        const j = rng.int(Math.max(1, lines.length));
        const a = lines[at] ?? '';
        lines[at] = lines[j] ?? '';
        lines[j] = a;
        break;
      }
      case 3:
      case 4:
        if (extraLines.length > 0) lines.splice(at, 0, rng.pick(extraLines));
        else lines.splice(at, 0, nastyText(rng));
        break;
      case 5:
      case 6: {
        // Splice nasty characters into a line at a random column.
        const line = lines[at] ?? '';
        const col = rng.int(line.length + 1);
        lines[at] = line.slice(0, col) + nastyText(rng, rng.range(1, 3)) + line.slice(col);
        break;
      }
      case 7: {
        if (!rng.chance(0.3)) break;
        // A huge line (a long word, or many short words).
        const n = rng.range(hugeMax / 10, hugeMax);
        lines.splice(at, 0, rng.chance(0.5) ? `RUN ${'A'.repeat(n)}` : `${rng.pick(['COPY', 'ENV', 'ARG', 'LABEL', '#'])} ${'x '.repeat(n / 2)}`);
        break;
      }
      case 8:
        // Truncate the whole text at a random point.
        lines = lines.join('\n').slice(0, rng.int(lines.join('\n').length + 1)).split('\n');
        break;
      case 9:
        // Line continuation or an unterminated construct at the end of a line.
        lines[at] = (lines[at] ?? '') + rng.pick(['\\', '`', '"', "'", '${', '$(', '<<EOF', '[', '{']);
        break;
      default:
        lines.splice(at, 0, rng.string(rng.length(20, 200, 2000)));
    }
  }
  let out = lines.join(rng.chance(0.1) ? '\r\n' : '\n');
  if (rng.chance(0.03)) out = `\ufeff${out}`;
  return out;
}

/** Splits `data` at random points (0 to 20 cuts), keeping order: exercises chunk boundaries. */
export function randomSplit(rng: Rng, data: Buffer): Buffer[] {
  const cuts = new Set<number>();
  const n = rng.int(21);
  for (let i = 0; i < n && data.length > 1; i++) cuts.add(1 + rng.int(data.length - 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  out.push(data.subarray(prev));
  return out;
}

/** What a case gets besides its input. */
export interface CaseContext {
  /** Aborted when the case runs over its time limit; pass it to the code under test. */
  readonly signal: AbortSignal;
  /** A fresh scratch directory for this case (the only place it may write). */
  readonly tmp: string;
  /**
   * A unique file name hostile inputs use for escape attempts (e.g. `../../<marker>`); after each
   * case the harness checks no file of that name appeared next to or above the scratch directory.
   */
  readonly marker: string;
}

/** A fuzz target: how to make an input from a seed and what to run on it. */
export interface FuzzTarget<I> {
  readonly name: string;
  /** Base seed; FUZZ_SEED overrides it. */
  readonly seed: number;
  /** Cases in a normal run; FUZZ_CASES multiplies it. */
  readonly cases: number;
  readonly generate: (rng: Rng, ctx: CaseContext) => I | Promise<I>;
  readonly run: (input: I, ctx: CaseContext) => unknown;
  /** A short description of the input for the failure message (default: JSON, clipped). */
  readonly describe?: (input: I) => string;
  /** Time limit of one case (default 10 s, generous for loaded CI machines): over it, the case is a hang. */
  readonly timeoutMs?: number;
}

/** What a run did, for the test's own assertions and the printed figures. */
export interface FuzzReport {
  readonly name: string;
  readonly seed: number;
  readonly cases: number;
  /** Cases that returned a result. */
  readonly ok: number;
  /** Cases that threw an ImgtoolError, by code. */
  readonly errors: Readonly<Record<string, number>>;
  readonly ms: number;
}

/** One failing case. */
interface Failure {
  readonly index: number;
  readonly caseSeed: number;
  readonly kind: 'crash' | 'hang' | 'escape';
  readonly what: string;
  readonly input: string;
}

function clip(s: string, max = 600): string {
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}

function defaultDescribe(input: unknown): string {
  try {
    return JSON.stringify(input, (_k, v: unknown) => (Buffer.isBuffer(v) ? `<${v.length} bytes>` : v)) ?? String(input);
  } catch {
    return String(input);
  }
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** Runs `p` with a deadline; resolves to 'hang' when it does not settle in time. */
async function withDeadline(p: Promise<unknown>, ms: number, ac: AbortController): Promise<{ error?: unknown; hang?: boolean }> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<{ hang: true }>((resolve) => {
    timer = setTimeout(() => {
      ac.abort();
      resolve({ hang: true });
    }, ms);
  });
  try {
    return await Promise.race([p.then(() => ({}), (error: unknown) => ({ error })), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs every case of `target` and returns the figures; throws one error listing the failing
 * cases (up to 5, each with its seed and a clipped input) when any case crashed, hung or escaped.
 */
export async function fuzz<I>(target: FuzzTarget<I>): Promise<FuzzReport> {
  const seed = envInt('FUZZ_SEED') ?? target.seed;
  const only = envInt('FUZZ_CASE');
  const cases = Math.max(1, Math.round(target.cases * (envInt('FUZZ_CASES') ?? 1)));
  const timeoutMs = target.timeoutMs ?? 10_000;
  const trace = process.env['FUZZ_TRACE'] === '1';
  const describe = target.describe ?? defaultDescribe;
  // The sandbox: `root` holds only `work`; anything else appearing in it, or a marker file
  // appearing next to or above it, is a write outside the scratch directory.
  const root = mkdtempSync(join(tmpdir(), 'imgtool-fuzz-'));
  const work = join(root, 'work');
  const marker = `imgtool-fuzz-escape-${process.pid}-${root.slice(-6)}`;
  const watched = [root, work, dirname(root), process.cwd(), '/'];
  const failures: Failure[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  const started = Date.now();
  try {
    for (let index = 0; index < cases; index++) {
      if (only !== undefined && index !== only) continue;
      const cs = caseSeed(seed, index);
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work);
      const ac = new AbortController();
      const ctx: CaseContext = { signal: ac.signal, tmp: work, marker };
      const input = await target.generate(new Rng(cs), ctx);
      if (trace) console.log(`fuzz ${target.name}: case ${index} (FUZZ_SEED=${seed} FUZZ_CASE=${index})`);
      const t0 = Date.now();
      let result: { error?: unknown; hang?: boolean };
      try {
        result = await withDeadline(Promise.resolve(target.run(input, ctx)), timeoutMs, ac);
      } catch (error) {
        result = { error };
      }
      // Synchronous code cannot be interrupted; a case that blocked past the limit is a hang too.
      if (!result.hang && Date.now() - t0 > timeoutMs) result = { hang: true };
      const fail = (kind: Failure['kind'], what: string): void => {
        failures.push({ index, caseSeed: cs, kind, what, input: clip(describe(input)) });
      };
      if (result.hang) fail('hang', `did not finish within ${timeoutMs} ms`);
      else if ('error' in result) {
        if (isImgtoolError(result.error)) errors[result.error.code] = (errors[result.error.code] ?? 0) + 1;
        else {
          const e = result.error as Error | undefined;
          fail('crash', `${e?.name ?? typeof e}: ${e?.message ?? String(e)}\n${(e?.stack ?? '').split('\n').slice(1, 6).join('\n')}`);
        }
      } else ok++;
      const strays = readdirSync(root).filter((n) => n !== 'work');
      const escaped = watched.filter((d) => existsSync(join(d, marker)));
      if (strays.length > 0 || escaped.length > 0) {
        fail('escape', `wrote outside its scratch directory: ${[...strays.map((s) => join(root, s)), ...escaped.map((d) => join(d, marker))].join(', ')}`);
        for (const s of strays) rmSync(join(root, s), { recursive: true, force: true });
        for (const d of escaped) rmSync(join(d, marker), { recursive: true, force: true });
      }
      if (failures.length >= 5) break;
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const ms = Date.now() - started;
  const report: FuzzReport = { name: target.name, seed, cases: only === undefined ? cases : 1, ok, errors, ms };
  // One line per target for the figures in the README's Reliability section.
  console.log(`fuzz ${target.name}: ${report.cases} cases, seed ${seed}, ${ms} ms, ${ok} results, ${Object.values(errors).reduce((a, b) => a + b, 0)} ImgtoolErrors ${JSON.stringify(errors)}`);
  if (failures.length > 0) {
    const lines = failures.map(
      (f) => `- case ${f.index} (${f.kind}; replay: FUZZ_SEED=${seed} FUZZ_CASE=${f.index}): ${f.what}\n  input: ${f.input}`,
    );
    throw new Error(`fuzz ${target.name}: ${failures.length} failing case(s) with seed ${seed}:\n${lines.join('\n')}`);
  }
  return report;
}

/** True when FUZZ_CASE replays one case: the run-wide sanity checks of a test do not apply. */
export function isReplay(): boolean {
  return envInt('FUZZ_CASE') !== undefined;
}

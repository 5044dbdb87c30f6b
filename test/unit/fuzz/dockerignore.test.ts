/**
 * Fuzzing .dockerignore handling (issue 7): mutated ignore files through the parser, the
 * compiler and the matcher (every query form the context walker uses). Every case must end in
 * a decision or an ImgtoolError (DOCKERIGNORE_INVALID), never a crash or a hang.
 */
import { describe, expect, it } from 'vitest';
import { compileIgnoreLines, parseIgnoreFile, PatternMatcher } from '../../../src/build/dockerignore/index.js';
import { goRegexToJs } from '../../../src/build/dockerignore/goregex.js';
import { compileLinearRegex } from '../../../src/build/dockerignore/linear-regex.js';
import { CONTEXT_PATHS, DOCKERIGNORES } from './corpus.js';
import { fuzz, mutateLines, nastyText, caseSeed, Rng, isReplay } from './support.js';

const GLOB_PIECES = ['*', '**', '**/', '/**', '?', '[a-z]', '[^a]', '[!x]', '[\\]]', '[[:alpha:]]', '\\*', '\\', 'a', 'b', 'dir', '.', '..', '/', '!', ' ', '.*', 'x+y', '(', '|', '{a,b}', '$', 'é', '[', ']', '-'];

/** A glob made of pattern syntax, sometimes stacked deep (the backtracking-prone shapes). */
function glob(rng: Rng): string {
  if (rng.chance(0.1)) return Array(rng.range(3, 12)).fill(rng.pick(['**/a*', '*a', '**/*', 'a*/**'])).join('/') + rng.pick(['/b', 'b', '']);
  let out = '';
  for (let i = rng.range(1, 8); i > 0; i--) out += rng.pick(GLOB_PIECES);
  return out;
}

/** A path to test: from the corpus, random, or deep (the other half of a backtracking blow-up). */
function path(rng: Rng): string {
  const r = rng.float();
  if (r < 0.4) return rng.pick(CONTEXT_PATHS);
  if (r < 0.6) return Array(rng.range(10, 60)).fill(rng.pick(['a', 'aa', 'ab', 'x'])).join('/') + rng.pick(['/c', '/b', '']);
  return Array.from({ length: rng.range(1, 6) }, () => rng.chance(0.7) ? rng.string(rng.range(1, 8), 'abx.*?[]-_é/') : nastyText(rng, 1)).join('/');
}

interface Input {
  readonly text: string;
  readonly extra: string[];
  readonly paths: string[];
}

function generate(rng: Rng): Input {
  let text: string;
  if (rng.chance(0.5)) text = mutateLines(rng, rng.pick(DOCKERIGNORES), [], 20_000);
  else text = Array.from({ length: rng.range(1, 10) }, () => (rng.chance(0.2) ? '!' : '') + glob(rng)).join('\n');
  return { text, extra: rng.chance(0.3) ? [glob(rng)] : [], paths: Array.from({ length: rng.range(1, 12) }, () => path(rng)) };
}

function run(input: Input): void {
  const rules = compileIgnoreLines('/ctx/.dockerignore', parseIgnoreFile(input.text), input.extra);
  const m = rules.matcher;
  for (const p of input.paths) {
    m.excludes(p);
    m.matchesExact(p);
    // The walker's form: parent results carried from each directory to its children.
    let parent: boolean[] | undefined;
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const sub = parts.slice(0, i).join('/');
      parent = m.matchWithParent(sub, parent).matches;
      m.mustDescend(sub);
    }
  }
}

describe('fuzz: .dockerignore', () => {
  it('mutated and generated ignore files end in a decision or an ImgtoolError', async () => {
    const report = await fuzz<Input>({ name: 'dockerignore', seed: 0xd0c16, cases: 3000, generate, run });
    if (!isReplay()) expect(report.ok).toBeGreaterThan(report.cases / 2);
    if (!isReplay()) expect(report.errors['DOCKERIGNORE_INVALID']).toBeGreaterThan(0);
  }, 300_000);

  it('the linear matcher answers like RegExp on every pattern source (differential, 3000 cases)', () => {
    let compared = 0;
    for (let i = 0; i < 3000; i++) {
      const rng = new Rng(caseSeed(0x11ea5, i));
      let p: PatternMatcher;
      try {
        p = new PatternMatcher([glob(rng)]);
      } catch {
        continue; // a bad pattern: nothing to compare
      }
      const compiled = p.patterns[0];
      if (compiled?.kind !== 'regexp') continue;
      // Rebuild the regexp source the same way compilePattern does, through the public pieces.
      const source = goRegexToJs(regexOf(compiled.text));
      const native = new RegExp(source, 'u');
      const linear = compileLinearRegex(source);
      for (let k = 0; k < 8; k++) {
        // Short paths keep native backtracking cheap enough to serve as the oracle.
        const q = Array.from({ length: rng.range(1, 4) }, () => rng.string(rng.range(0, 4), 'ab*?[]/.-é')).join('/');
        expect(linear.test(q), `seed case ${i}: ${JSON.stringify(compiled.text)} on ${JSON.stringify(q)} (source ${source})`).toBe(native.test(q));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(5000);
  });

  it('regression: stacked `**/a*` patterns on a 40-deep path finish (catastrophic backtracking before the fix)', () => {
    // Minimised from fuzz case FUZZ_SEED=0xd0c16: V8 needed ~49 s for this one test.
    const m = new PatternMatcher([Array(10).fill('**/a*').join('/') + '/b']);
    const deep = `${Array(40).fill('aa').join('/')}/c`;
    expect(m.matchesExact(deep)).toBe(false);
    expect(m.matchesExact(`${Array(12).fill('a').join('/')}/b`)).toBe(true);
    expect(m.excludes(deep)).toBe(false);
  });

  it('regression: many stars inside one name finish (`*a*a*…*b` against a long name)', () => {
    const m = new PatternMatcher([`${'*a'.repeat(12)}*b`]);
    expect(m.matchesExact('a'.repeat(200))).toBe(false);
    expect(m.matchesExact(`${'a'.repeat(200)}b`)).toBe(true);
  });
});

/** compilePattern's Go expression for a cleaned pattern (moby's Pattern.compile), for the oracle. */
function regexOf(text: string): string {
  const cps = Array.from(text);
  let reg = '^';
  let pos = 0;
  const esc = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);
  while (pos < cps.length) {
    const ch = cps[pos++] as string;
    if (ch === '*') {
      if (cps[pos] === '*') {
        pos++;
        if (cps[pos] === '/') pos++;
        reg += cps[pos] === undefined ? '.*' : '(.*/)?';
      } else reg += '[^/]*';
    } else if (ch === '?') reg += '[^/]';
    else if (esc.has(ch)) reg += `\\${ch}`;
    else if (ch === '\\') {
      const next = cps[pos];
      if (next !== undefined) {
        pos++;
        reg += `\\${next}`;
      } else reg += '\\';
    } else reg += ch;
  }
  return `${reg}$`;
}

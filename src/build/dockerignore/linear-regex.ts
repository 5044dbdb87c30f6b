/**
 * A linear-time matcher for the RegExp sources `goRegexToJs` emits. moby matches .dockerignore
 * patterns with Go's RE2, which never backtracks; V8's RegExp does, so a pattern like
 * `**\/a*\/**\/a*\/**\/a*\/**\/b` took tens of seconds on one 40-deep path (found by the fuzz
 * tests, issue 7). Patterns with several unbounded repetitions are therefore run here as a
 * Thompson NFA (one pass over the path, a set of states per character), as RE2 would.
 *
 * The accepted syntax is exactly what goRegexToJs produces: `^ $ \b \B`, `(?: | )`, the
 * quantifiers `* + ?` (a trailing `?` making them lazy changes nothing for a full match),
 * literals (`[A-Za-z0-9_]` or `\u{hex}`), and classes of `\u{hex}` ranges (`[^\n]`, `[^]`, `[]`).
 */

type Assertion = '^' | '$' | 'b' | 'B';

/** One NFA state. `out`/`alt` are indexes of the next states (-1 = not yet patched). */
type State =
  | { kind: 'char'; test: (cp: number) => boolean; out: number }
  | { kind: 'split'; out: number; alt: number }
  | { kind: 'assert'; what: Assertion; out: number }
  | { kind: 'match' };

/** A partial NFA: its start state and the dangling exits to patch. */
interface Frag {
  start: number;
  /** [state, field] pairs whose target is still open. */
  exits: Array<[number, 'out' | 'alt']>;
}

const isWord = (cp: number | undefined): boolean =>
  cp !== undefined && ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || cp === 0x5f || (cp >= 0x61 && cp <= 0x7a));

/** Thrown when the source is outside the supported syntax (a bug in the caller, not user input). */
export class LinearRegexUnsupported extends Error {
  override readonly name = 'LinearRegexUnsupported';
}

class Compiler {
  readonly states: State[] = [];
  private i = 0;
  constructor(private readonly src: string) {}

  private add(s: State): number {
    this.states.push(s);
    return this.states.length - 1;
  }
  private patch(exits: Frag['exits'], to: number): void {
    for (const [s, field] of exits) (this.states[s] as Record<string, unknown>)[field] = to;
  }
  private unsupported(): never {
    throw new LinearRegexUnsupported(`unsupported regexp source at ${this.i}: ${JSON.stringify(this.src)}`);
  }
  private peek(): string | undefined {
    return this.src[this.i];
  }

  compile(): number {
    const f = this.alternation();
    if (this.i !== this.src.length) this.unsupported();
    const m = this.add({ kind: 'match' });
    if (f === undefined) return m;
    this.patch(f.exits, m);
    return f.start;
  }

  /** alternation := concat ('|' concat)* ; an empty branch is allowed. */
  private alternation(): Frag | undefined {
    const branches: Array<Frag | undefined> = [this.concat()];
    while (this.peek() === '|') {
      this.i++;
      branches.push(this.concat());
    }
    if (branches.length === 1) return branches[0];
    // An empty branch becomes a pass-through split so every branch is a real fragment.
    const frags = branches.map((b) => b ?? this.empty());
    let acc = frags[frags.length - 1] as Frag;
    for (let k = frags.length - 2; k >= 0; k--) {
      const f = frags[k] as Frag;
      const s = this.add({ kind: 'split', out: f.start, alt: acc.start });
      acc = { start: s, exits: [...f.exits, ...acc.exits] };
    }
    return acc;
  }

  private empty(): Frag {
    const s = this.add({ kind: 'split', out: -1, alt: -1 });
    return { start: s, exits: [[s, 'out'], [s, 'alt']] };
  }

  private concat(): Frag | undefined {
    let acc: Frag | undefined;
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === '|' || c === ')') return acc;
      const f = this.repeat();
      if (acc === undefined) acc = f;
      else {
        this.patch(acc.exits, f.start);
        acc = { start: acc.start, exits: f.exits };
      }
    }
  }

  private repeat(): Frag {
    const f = this.atom();
    const q = this.peek();
    if (q !== '*' && q !== '+' && q !== '?') return f;
    this.i++;
    if (this.peek() === '?') this.i++; // lazy: same set of matches
    const split = this.add({ kind: 'split', out: f.start, alt: -1 });
    if (q === '?') return { start: split, exits: [...f.exits, [split, 'alt']] };
    this.patch(f.exits, split);
    return { start: q === '*' ? split : f.start, exits: [[split, 'alt']] };
  }

  private atom(): Frag {
    const c = this.peek();
    if (c === '^' || c === '$') {
      this.i++;
      const s = this.add({ kind: 'assert', what: c, out: -1 });
      return { start: s, exits: [[s, 'out']] };
    }
    if (c === '(') {
      if (!this.src.startsWith('(?:', this.i)) this.unsupported();
      this.i += 3;
      const inner = this.alternation() ?? this.empty();
      if (this.peek() !== ')') this.unsupported();
      this.i++;
      return inner;
    }
    if (c === '[') return this.char(this.cls());
    if (c === '\\') {
      const e = this.src[this.i + 1];
      if (e === 'b' || e === 'B') {
        this.i += 2;
        const s = this.add({ kind: 'assert', what: e, out: -1 });
        return { start: s, exits: [[s, 'out']] };
      }
      const cp = this.escape();
      return this.char((x) => x === cp);
    }
    if (c !== undefined && /[A-Za-z0-9_]/.test(c)) {
      this.i++;
      const cp = c.codePointAt(0) as number;
      return this.char((x) => x === cp);
    }
    return this.unsupported();
  }

  private char(test: (cp: number) => boolean): Frag {
    const s = this.add({ kind: 'char', test, out: -1 });
    return { start: s, exits: [[s, 'out']] };
  }

  /** `\u{hex}` at the cursor. */
  private escape(): number {
    const m = /^\\u\{([0-9a-fA-F]+)\}/.exec(this.src.slice(this.i, this.i + 12));
    if (!m) this.unsupported();
    this.i += m[0].length;
    return parseInt(m[1] as string, 16);
  }

  /** `[...]`, `[^...]` of `\u{hex}` items and ranges, `[^\n]`, `[^]`, `[]`. */
  private cls(): (cp: number) => boolean {
    this.i++;
    let negated = false;
    if (this.peek() === '^') {
      negated = true;
      this.i++;
    }
    const ranges: Array<[number, number]> = [];
    while (this.peek() !== ']') {
      if (this.peek() === undefined) this.unsupported();
      let lo: number;
      if (this.src.startsWith('\\n', this.i)) {
        this.i += 2;
        lo = 10;
      } else lo = this.escape();
      let hi = lo;
      if (this.peek() === '-') {
        this.i++;
        hi = this.escape();
      }
      ranges.push([lo, hi]);
    }
    this.i++;
    return (cp) => ranges.some(([lo, hi]) => cp >= lo && cp <= hi) !== negated;
  }
}

/** A compiled linear-time matcher: `test(s)` answers what `new RegExp(source, 'u').test(s)` would. */
export interface LinearRegex {
  test(input: string): boolean;
}

/** Compiles a goRegexToJs source into a linear-time matcher. */
export function compileLinearRegex(source: string): LinearRegex {
  const compiler = new Compiler(source);
  const start = compiler.compile();
  const states = compiler.states;
  return {
    test(input: string): boolean {
      const cps = Array.from(input, (ch) => ch.codePointAt(0) as number);
      // Unanchored like RegExp.test: a new thread may start at every position.
      let current: number[] = [];
      const mark = new Int32Array(states.length).fill(-1);
      let generation = 0;
      // Follows the empty transitions from `first` at `pos`, collecting the character states;
      // true when the match state is reached. Iterative: a long pattern must not overflow the stack.
      const stack: number[] = [];
      const add = (list: number[], first: number, pos: number): boolean => {
        stack.length = 0;
        stack.push(first);
        while (stack.length > 0) {
          const s = stack.pop() as number;
          if (s < 0 || mark[s] === generation) continue;
          mark[s] = generation;
          const st = states[s] as State;
          switch (st.kind) {
            case 'match':
              return true;
            case 'char':
              list.push(s);
              break;
            case 'split':
              stack.push(st.alt, st.out);
              break;
            case 'assert': {
              const prev = cps[pos - 1];
              const next = cps[pos];
              const ok =
                st.what === '^' ? pos === 0 : st.what === '$' ? pos === cps.length : (isWord(prev) !== isWord(next)) === (st.what === 'b');
              if (ok) stack.push(st.out);
              break;
            }
          }
        }
        return false;
      };
      for (let pos = 0; ; pos++) {
        if (add(current, start, pos)) return true;
        if (pos === cps.length) return false;
        const cp = cps[pos] as number;
        const next: number[] = [];
        generation++;
        for (const s of current) {
          const st = states[s] as Extract<State, { kind: 'char' }>;
          if (st.test(cp) && add(next, st.out, pos + 1)) return true;
        }
        current = next;
      }
    },
  };
}

/**
 * How many unbounded repetitions (`*`, `+`) a goRegexToJs source has outside classes. With at
 * most two, V8's backtracking stays polynomial in a path's length and its native speed is kept.
 */
export function unboundedRepeats(source: string): number {
  let n = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '*' || c === '+') n++;
  }
  return n;
}

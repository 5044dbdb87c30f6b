/**
 * moby/patternmatcher turns a .dockerignore pattern into a Go regular expression (RE2, Perl
 * flags) and matches paths with it. To get exactly the same answers we build the same Go
 * expression text and then translate it, construct by construct, into an equivalent JavaScript
 * RegExp (with the `u` flag, so one `[^/]` is one code point as a Go rune is). The translator
 * covers what that text can contain: literals, escapes, `.`, `^`, `$`, groups, repetition and
 * character classes with Go's class rules (POSIX `[:name:]`, Perl `\d\s\w`, ranges, a leading
 * `]` literal). Go constructs with no sane use in a file name pattern (`\p{..}`, `\Q..\E`,
 * `\C`) are reported as unsupported rather than guessed.
 */

/** Thrown when Go's regexp.Compile would reject the expression (moby: ErrBadPattern). */
export class GoRegexError extends Error {
  override readonly name = 'GoRegexError';
}

type Range = readonly [number, number];

const MAX_RUNE = 0x10ffff;

const PERL: Record<string, readonly Range[]> = {
  d: [[0x30, 0x39]],
  s: [
    [0x09, 0x0a],
    [0x0c, 0x0d],
    [0x20, 0x20],
  ],
  w: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
};

const POSIX: Record<string, readonly Range[]> = {
  alnum: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  alpha: [
    [0x41, 0x5a],
    [0x61, 0x7a],
  ],
  ascii: [[0x00, 0x7f]],
  blank: [
    [0x09, 0x09],
    [0x20, 0x20],
  ],
  cntrl: [
    [0x00, 0x1f],
    [0x7f, 0x7f],
  ],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [
    [0x21, 0x2f],
    [0x3a, 0x40],
    [0x5b, 0x60],
    [0x7b, 0x7e],
  ],
  space: [
    [0x09, 0x0d],
    [0x20, 0x20],
  ],
  upper: [[0x41, 0x5a]],
  word: [
    [0x30, 0x39],
    [0x41, 0x5a],
    [0x5f, 0x5f],
    [0x61, 0x7a],
  ],
  xdigit: [
    [0x30, 0x39],
    [0x41, 0x46],
    [0x61, 0x66],
  ],
};

/** The complement of sorted, possibly overlapping ranges within [0, MAX_RUNE]. */
function negate(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push([next, lo - 1]);
    next = Math.max(next, hi + 1);
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

const hex = (cp: number): string => `\\u{${cp.toString(16)}}`;

/** A literal code point as JS regexp source (`u` flag). */
function literal(cp: number): string {
  const ch = String.fromCodePoint(cp);
  return /[A-Za-z0-9_]/.test(ch) ? ch : hex(cp);
}

function classSource(ranges: readonly Range[], negated: boolean): string {
  const body = ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('');
  if (negated) return body === '' ? '[^]' : `[^${body}]`;
  // An empty positive class matches nothing, as in Go.
  return body === '' ? '[]' : `[${body}]`;
}

const isOctal = (cp: number | undefined): boolean => cp !== undefined && cp >= 0x30 && cp <= 0x37;
const isHex = (cp: number | undefined): boolean =>
  cp !== undefined && ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x46) || (cp >= 0x61 && cp <= 0x66));
const isAlnum = (cp: number): boolean =>
  (cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a);

/** A cursor over the code points of the Go expression. */
class Cursor {
  readonly cps: number[];
  i = 0;
  constructor(readonly src: string) {
    this.cps = Array.from(src, (c) => c.codePointAt(0) ?? 0);
  }
  peek(k = 0): number | undefined {
    return this.cps[this.i + k];
  }
  next(): number {
    const c = this.cps[this.i];
    if (c === undefined) throw new GoRegexError(`unexpected end of expression in ${JSON.stringify(this.src)}`);
    this.i++;
    return c;
  }
  done(): boolean {
    return this.i >= this.cps.length;
  }
  /** Does the rest start with `s`? */
  startsWith(s: string): boolean {
    let k = 0;
    for (const ch of s) {
      if (this.cps[this.i + k] !== ch.codePointAt(0)) return false;
      k++;
    }
    return true;
  }
}

/** Go's parseEscape for a single-character escape (the `\` already consumed). */
function parseEscape(cur: Cursor): number {
  const c = cur.next();
  if (c >= 0x31 && c <= 0x37 && !isOctal(cur.peek())) {
    throw new GoRegexError('backreferences are not supported (invalid escape sequence)');
  }
  if (c >= 0x30 && c <= 0x37) {
    let v = c - 0x30;
    for (let k = 0; k < 2 && isOctal(cur.peek()); k++) v = v * 8 + (cur.next() - 0x30);
    return v;
  }
  switch (String.fromCodePoint(c)) {
    case 'x': {
      if (cur.peek() === 0x7b) {
        cur.next();
        let digits = '';
        while (isHex(cur.peek())) digits += String.fromCodePoint(cur.next());
        if (cur.peek() !== 0x7d || digits === '') throw new GoRegexError('invalid escape sequence \\x{...}');
        cur.next();
        const v = parseInt(digits, 16);
        if (v > MAX_RUNE) throw new GoRegexError('invalid escape sequence \\x{...}');
        return v;
      }
      const a = cur.peek();
      const b = cur.peek(1);
      if (!isHex(a) || !isHex(b)) throw new GoRegexError('invalid escape sequence \\x');
      cur.next();
      cur.next();
      return parseInt(String.fromCodePoint(a as number, b as number), 16);
    }
    case 'a':
      return 7;
    case 'f':
      return 12;
    case 'n':
      return 10;
    case 'r':
      return 13;
    case 't':
      return 9;
    case 'v':
      return 11;
    default:
      if (c < 0x80 && !isAlnum(c)) return c;
      throw new GoRegexError(`invalid escape sequence \\${String.fromCodePoint(c)}`);
  }
}

/** A Perl class escape (`\d` ...) at the cursor, or undefined. Consumes it when present. */
function perlClass(cur: Cursor): Range[] | undefined {
  if (cur.peek() !== 0x5c) return undefined;
  const c = cur.peek(1);
  if (c === undefined) return undefined;
  const ch = String.fromCodePoint(c);
  const base = PERL[ch.toLowerCase()];
  if (base === undefined || !'dDsSwW'.includes(ch)) return undefined;
  cur.i += 2;
  return ch === ch.toUpperCase() ? negate(base) : [...base];
}

function rejectUnsupported(cur: Cursor): void {
  if (cur.peek() !== 0x5c) return;
  const c = cur.peek(1);
  if (c === 0x70 || c === 0x50) throw new GoRegexError('Unicode classes (\\p, \\P) are not supported in .dockerignore patterns by imgtool');
}

/** Go's parseClass: the cursor is on `[`. */
function parseClass(cur: Cursor): string {
  cur.next();
  let negated = false;
  if (cur.peek() === 0x5e) {
    cur.next();
    negated = true;
  }
  const ranges: Range[] = [];
  let first = true;
  for (;;) {
    const c = cur.peek();
    if (c === undefined) throw new GoRegexError('missing closing ]');
    if (c === 0x5d && !first) break;
    first = false;
    if (cur.startsWith('[:')) {
      const rest = cur.cps.slice(cur.i + 2);
      let end = -1;
      for (let k = 0; k + 1 < rest.length; k++) {
        if (rest[k] === 0x3a && rest[k + 1] === 0x5d) {
          end = k;
          break;
        }
      }
      if (end >= 0) {
        let name = String.fromCodePoint(...rest.slice(0, end));
        const neg = name.startsWith('^');
        if (neg) name = name.slice(1);
        const group = POSIX[name];
        if (group === undefined) throw new GoRegexError(`invalid character class range [:${name}:]`);
        ranges.push(...(neg ? negate(group) : group));
        cur.i += 2 + end + 2;
        continue;
      }
    }
    rejectUnsupported(cur);
    const perl = perlClass(cur);
    if (perl) {
      ranges.push(...perl);
      continue;
    }
    const lo = classChar(cur);
    let hi = lo;
    if (cur.peek() === 0x2d && cur.peek(1) !== undefined && cur.peek(1) !== 0x5d) {
      cur.next();
      hi = classChar(cur);
      if (hi < lo) throw new GoRegexError('invalid character class range');
    }
    ranges.push([lo, hi]);
  }
  cur.next(); // the closing ]
  return classSource(ranges, negated);
}

function classChar(cur: Cursor): number {
  const c = cur.next();
  if (c === 0x5c) return parseEscape(cur);
  return c;
}

/**
 * Translates a Go (RE2, Perl flags) expression of the kind moby/patternmatcher builds into the
 * source of an equivalent JavaScript RegExp for the `u` flag.
 * @throws GoRegexError when Go would reject the expression or it uses an unsupported construct.
 */
export function goRegexToJs(src: string): string {
  const cur = new Cursor(src);
  let out = '';
  // Whether the last item can take a repetition operator, and whether it already has one.
  let canRepeat = false;
  let repeated = false;
  let depth = 0;
  const atom = (s: string): void => {
    out += s;
    canRepeat = true;
    repeated = false;
  };
  while (!cur.done()) {
    const c = cur.peek() as number;
    switch (c) {
      case 0x5e: // ^
        cur.next();
        out += '^';
        canRepeat = false;
        break;
      case 0x24: // $
        cur.next();
        out += '$';
        canRepeat = false;
        break;
      case 0x2e: // . — in Go without the s flag, anything but a newline
        cur.next();
        atom('[^\\n]');
        break;
      case 0x28: // (
        cur.next();
        if (cur.peek() === 0x3f) throw new GoRegexError('group flags are not supported');
        out += '(?:';
        depth++;
        canRepeat = false;
        break;
      case 0x29: // )
        cur.next();
        if (depth === 0) throw new GoRegexError('unexpected )');
        depth--;
        atom(')');
        break;
      case 0x7c: // |
        cur.next();
        out += '|';
        canRepeat = false;
        break;
      case 0x2a: // *
      case 0x2b: // +
      case 0x3f: {
        // ?
        cur.next();
        if (repeated && c === 0x3f) {
          // `x*?` is a non-greedy repetition in Go; for a whole-string match it changes nothing.
          out += '?';
          repeated = false;
          canRepeat = false;
          break;
        }
        if (!canRepeat) throw new GoRegexError(repeated ? 'invalid nested repetition operator' : 'missing argument to repetition operator');
        out += String.fromCodePoint(c);
        repeated = true;
        canRepeat = false;
        break;
      }
      case 0x5b: // [
        atom(parseClass(cur));
        break;
      case 0x5c: {
        // backslash
        const e = cur.peek(1);
        if (e === undefined) throw new GoRegexError('trailing backslash at end of expression');
        const ch = String.fromCodePoint(e);
        if (ch === 'A' || ch === 'z') {
          cur.i += 2;
          out += ch === 'A' ? '^' : '$';
          canRepeat = false;
          break;
        }
        if (ch === 'b' || ch === 'B') {
          // ASCII word boundaries in both engines.
          cur.i += 2;
          out += `\\${ch}`;
          canRepeat = false;
          break;
        }
        if (ch === 'Q' || ch === 'C') {
          throw new GoRegexError(`\\${ch} is not supported in .dockerignore patterns by imgtool`);
        }
        rejectUnsupported(cur);
        const perl = perlClass(cur);
        if (perl) {
          atom(classSource(perl, false));
          break;
        }
        cur.next();
        atom(literal(parseEscape(cur)));
        break;
      }
      default:
        cur.next();
        atom(literal(c));
    }
  }
  if (depth !== 0) throw new GoRegexError('missing closing )');
  return out;
}

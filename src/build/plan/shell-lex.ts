/**
 * Word processing and variable expansion exactly as the Dockerfile builder does it (BuildKit's
 * `frontend/dockerfile/shell` lexer, which the classic builder shares): quotes, the escape
 * character, `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`, `${VAR:?msg}`,
 * `${VAR?msg}`, `${VAR#pat}`, `${VAR##pat}`, `${VAR%pat}`, `${VAR%%pat}`, `${VAR/pat/repl}` and
 * `${VAR//pat/repl}`. Written from the builder's documented behaviour and its test tables.
 */

/** Looks a variable up: its value, or undefined when it is not set. */
export type EnvLookup = (name: string) => string | undefined;

/** Lexer switches, named as in the builder. */
export interface ShellLexOptions {
  /** The Dockerfile's escape character: `\` or a backquote. */
  readonly escapeChar: string;
  /** Keep quote characters in the result. */
  readonly rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  readonly rawEscapes?: boolean;
  /** Leave quotes alone entirely (not special). */
  readonly skipProcessQuotes?: boolean;
  /** Leave references to unset variables as written instead of expanding them to "". */
  readonly skipUnsetEnv?: boolean;
}

/** What processing a word gives. */
export interface ShellWordResult {
  /** The word with quotes removed and variables expanded. */
  readonly result: string;
  /** The same, split into words at unquoted white space (the builder's ProcessWords). */
  readonly words: string[];
  /** Variables that were looked up and set. */
  readonly matched: Set<string>;
  /** Variables that were looked up and not set. */
  readonly unmatched: Set<string>;
}

/** A syntax or `${VAR:?}` failure; `message` is the builder's wording. */
export class ShellLexError extends Error {
  override readonly name = 'ShellLexError';
  /** The variable whose `:?`/`?` check failed, when that is the cause. */
  readonly variable: string | undefined;
  constructor(message: string, variable?: string) {
    super(message);
    this.variable = variable;
  }
}

const EOF = -1;

// Characters as code points so surrogate pairs stay whole, as Go's rune scanner keeps them.
class Scanner {
  private readonly chars: number[];
  private pos = 0;
  constructor(text: string) {
    this.chars = Array.from(text, (c) => c.codePointAt(0) ?? 0);
  }
  peek(): number {
    return this.pos < this.chars.length ? (this.chars[this.pos] ?? EOF) : EOF;
  }
  next(): number {
    const c = this.peek();
    if (c !== EOF) this.pos++;
    return c;
  }
}

const ch = (c: number): string => String.fromCodePoint(c);
const isSpace = (c: number): boolean => c !== EOF && /\s/u.test(ch(c));
const isDigit = (c: number): boolean => c !== EOF && /\p{Nd}/u.test(ch(c));
const isLetter = (c: number): boolean => c !== EOF && /\p{L}/u.test(ch(c));
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0'].map((c) => c.codePointAt(0)));

// Tracks word splitting alongside the single-word result, as the builder's wordsStruct does.
class Words {
  private word = '';
  private inWord = false;
  readonly words: string[] = [];
  addChar(c: number): void {
    if (isSpace(c)) {
      if (this.inWord && this.word.length !== 0) {
        this.words.push(this.word);
        this.word = '';
        this.inWord = false;
      }
    } else {
      this.addRawChar(c);
    }
  }
  addRawChar(c: number): void {
    this.word += ch(c);
    this.inWord = true;
  }
  addString(s: string): void {
    for (const c of s) this.addChar(c.codePointAt(0) ?? 0);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** Processes one word: quotes, escapes and variables, as the builder's `ProcessWord`. */
export function processWord(word: string, env: EnvLookup, options: ShellLexOptions): ShellWordResult {
  return new ShellWord(word, env, options).run();
}

class ShellWord {
  private readonly scanner: Scanner;
  private readonly escape: number;
  private rawEscapes: boolean;
  readonly matched = new Set<string>();
  readonly unmatched = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly env: EnvLookup,
    private readonly opts: ShellLexOptions,
  ) {
    this.scanner = new Scanner(source);
    this.escape = opts.escapeChar.codePointAt(0) ?? 92;
    this.rawEscapes = opts.rawEscapes === true;
  }

  run(): ShellWordResult {
    try {
      const { result, words } = this.processStopOn(EOF, this.rawEscapes);
      return { result, words, matched: this.matched, unmatched: this.unmatched };
    } catch (err) {
      if (err instanceof ShellLexError) {
        throw new ShellLexError(`failed to process ${JSON.stringify(this.source)}: ${err.message}`, err.variable);
      }
      throw err;
    }
  }

  private getEnv(name: string): { value: string; set: boolean } {
    const value = this.env(name);
    if (value === undefined) {
      this.unmatched.add(name);
      return { value: '', set: false };
    }
    this.matched.add(name);
    return { value, set: true };
  }

  private processStopOn(stop: number, rawEscapes: boolean): { result: string; words: string[] } {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let result = '';
      const words = new Words();
      const quotes = this.opts.skipProcessQuotes !== true;
      while (this.scanner.peek() !== EOF) {
        const c = this.scanner.peek();
        if (stop !== EOF && c === stop) {
          this.scanner.next();
          return { result, words: words.finish() };
        }
        if (c === 36 /* $ */) {
          const v = this.processDollar();
          result += v;
          words.addString(v);
        } else if (quotes && c === 39 /* ' */) {
          const v = this.processSingleQuote();
          result += v;
          words.addRawString(v);
        } else if (quotes && c === 34 /* " */) {
          const v = this.processDoubleQuote();
          result += v;
          words.addRawString(v);
        } else {
          let n = this.scanner.next();
          if (n === this.escape) {
            if (this.rawEscapes) {
              words.addRawChar(n);
              result += ch(n);
            }
            // The escape character escapes the next one, except at the end of the word.
            n = this.scanner.next();
            if (n === EOF) break;
            words.addRawChar(n);
          } else {
            words.addChar(n);
          }
          result += ch(n);
        }
      }
      if (stop !== EOF) {
        throw new ShellLexError(`unexpected end of statement while looking for matching ${ch(stop)}`);
      }
      return { result, words: words.finish() };
    } finally {
      this.rawEscapes = saved;
    }
  }

  private processSingleQuote(): string {
    // Everything up to the next ' is literal; a ' cannot be escaped inside.
    let result = '';
    const open = this.scanner.next();
    if (this.opts.rawQuotes) result += ch(open);
    for (;;) {
      const c = this.scanner.next();
      if (c === EOF) throw new ShellLexError('unexpected end of statement while looking for matching single-quote');
      if (c === 39) {
        if (this.opts.rawQuotes) result += ch(c);
        return result;
      }
      result += ch(c);
    }
  }

  private processDoubleQuote(): string {
    // Literal except $, and the escape character before ", $ or itself.
    let result = '';
    const open = this.scanner.next();
    if (this.opts.rawQuotes) result += ch(open);
    for (;;) {
      const p = this.scanner.peek();
      if (p === EOF) throw new ShellLexError('unexpected end of statement while looking for matching double-quote');
      if (p === 34) {
        const c = this.scanner.next();
        if (this.opts.rawQuotes) result += ch(c);
        return result;
      }
      if (p === 36) {
        result += this.processDollar();
        continue;
      }
      let c = this.scanner.next();
      if (c === this.escape) {
        if (this.rawEscapes) result += ch(c);
        const after = this.scanner.peek();
        if (after === EOF) continue;
        if (after === 34 || after === 36 || after === this.escape) c = this.scanner.next();
      }
      result += ch(c);
    }
  }

  private processName(): string {
    let name = '';
    for (;;) {
      const c = this.scanner.peek();
      if (c === EOF) break;
      if (name.length === 0 && isDigit(c)) {
        while (this.scanner.peek() !== EOF && isDigit(this.scanner.peek())) name += ch(this.scanner.next());
        return name;
      }
      if (name.length === 0 && SPECIAL_PARAMS.has(c)) return ch(this.scanner.next());
      if (!isLetter(c) && !isDigit(c) && c !== 95 /* _ */) break;
      name += ch(this.scanner.next());
    }
    return name;
  }

  private processDollar(): string {
    this.scanner.next();
    if (this.scanner.peek() !== 123 /* { */) {
      const name = this.processName();
      if (name === '') return '$';
      const { value, set } = this.getEnv(name);
      if (!set && this.opts.skipUnsetEnv) return `$${name}`;
      return value;
    }
    this.scanner.next();
    const first = this.scanner.peek();
    if (first === EOF) throw new ShellLexError("syntax error: missing '}'");
    if (first === 123 || first === 125 || first === 58) throw new ShellLexError('syntax error: bad substitution');
    const name = this.processName();
    let c = this.scanner.next();
    let modifier = c === EOF ? '' : ch(c);
    let nullIsUnset = false;
    switch (c) {
      case 125: {
        // ${name}
        const { value, set } = this.getEnv(name);
        if (!set && this.opts.skipUnsetEnv) return `\${${name}}`;
        return value;
      }
      case 58: // ':' then one of + - ?
      case 43:
      case 45:
      case 63:
      case 35:
      case 37: {
        if (c === 58) {
          nullIsUnset = true;
          c = this.scanner.next();
          modifier += c === EOF ? '' : ch(c);
        }
        const rawEscapes = c === 35 || c === 37;
        let word: string;
        try {
          word = this.processStopOn(125, rawEscapes).result;
        } catch (err) {
          if (this.scanner.peek() === EOF) throw new ShellLexError("syntax error: missing '}'");
          throw err;
        }
        const { value, set } = this.getEnv(name);
        if (this.opts.skipUnsetEnv && !set) return `\${${name}${modifier}${word}}`;
        switch (c) {
          case 45: // -
            return !set || (nullIsUnset && value === '') ? word : value;
          case 43: // +
            return !set || (nullIsUnset && value === '') ? '' : word;
          case 63: // ?
            if (!set) throw new ShellLexError(`${name}: ${word !== '' ? word : 'is not allowed to be unset'}`, name);
            if (nullIsUnset && value === '') {
              throw new ShellLexError(`${name}: ${word !== '' ? word : 'is not allowed to be empty'}`, name);
            }
            return value;
          case 35: // #, ##
          case 37: {
            // %, %%
            let pattern = word;
            let greedy = false;
            if (pattern.length > 0 && pattern.codePointAt(0) === c) {
              greedy = true;
              pattern = pattern.slice(1);
            }
            return c === 37 ? trimSuffix(pattern, value, greedy) : trimPrefix(pattern, value, greedy);
          }
          default:
            throw new ShellLexError(`unsupported modifier (${modifier}) in substitution`);
        }
      }
      case 47: {
        // ${name/pattern/replacement} and ${name//pattern/replacement}
        const all = this.scanner.peek() === 47;
        if (all) this.scanner.next();
        let pattern: string;
        try {
          pattern = this.processStopOn(47, true).result;
        } catch (err) {
          if (this.scanner.peek() === EOF) throw new ShellLexError("syntax error: missing '/' in ${}");
          throw err;
        }
        let replacement: string;
        try {
          replacement = this.processStopOn(125, true).result;
        } catch (err) {
          if (this.scanner.peek() === EOF) throw new ShellLexError("syntax error: missing '}'");
          throw err;
        }
        const { value, set } = this.getEnv(name);
        if (this.opts.skipUnsetEnv && !set) return `\${${name}/${pattern}/${replacement}}`;
        const re = shellPatternToRegex(pattern, true, false, all);
        const literal = goReplacementLiteral(replacement);
        return value.replace(re, () => literal);
      }
      default:
        throw new ShellLexError(`unsupported modifier (${modifier}) in substitution`);
    }
  }
}

/**
 * Converts a `${VAR#pattern}` style pattern (`*`, `?`, `\` escapes; no bracket expressions) to a
 * regular expression, as the builder does.
 */
function shellPatternToRegex(pattern: string, greedy: boolean, anchored: boolean, global = false): RegExp {
  let out = anchored ? '^' : '';
  const star = greedy ? '.*' : '.*?';
  const chars = Array.from(pattern);
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '*') {
      out += star;
      continue;
    }
    if (c === '?') {
      out += '.';
      continue;
    }
    if (c === '\\') {
      // `\}` and `\/` inside ${} escape the delimiter; the backslash is not part of the pattern.
      const n = chars[i + 1];
      if (n === '}' || n === '/') continue;
      if (n !== '*' && n !== '?' && n !== '\\') {
        throw new ShellLexError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${n ?? ''}'`);
      }
      out += `\\${n}`;
      i++;
      continue;
    }
    if ('[]{}.+()|^$'.includes(c)) out += '\\';
    out += c;
  }
  // No 's' flag: Go's '.' does not match a newline either.
  return new RegExp(out, global ? 'gu' : 'u');
}

// Go's ReplaceAllString expands $name in the replacement; the pattern has no groups, so every
// reference expands to nothing and `$$` is a literal dollar.
function goReplacementLiteral(replacement: string): string {
  return replacement.replace(/\$(\$|\{[^}]*\}|[A-Za-z0-9_]+)/g, (_m, g: string) => (g === '$' ? '$' : ''));
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPatternToRegex(pattern, greedy, true).exec(value);
  return m ? value.slice(m.index + m[0].length) : value;
}

// Reverses a pattern keeping `\x` escapes in front of the character they escape.
function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const out: string[] = new Array<string>(chars.length);
  const last = chars.length - 1;
  for (let i = 0; i <= last; ) {
    const c = chars[i] as string;
    const o = last - i;
    if (c === '\\' && i !== last) {
      out[o - 1] = c;
      out[o] = chars[i + 1] as string;
      i += 2;
    } else {
      out[o] = c;
      i++;
    }
  }
  return out.join('');
}

const reverse = (s: string): string => Array.from(s).reverse().join('');

function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  // The shortest rightmost match, found as the shortest leftmost one on reversed strings.
  return reverse(trimPrefix(reversePattern(pattern), reverse(value), greedy));
}

/**
 * Splits an instruction's arguments into words keeping quotes and escapes, as the builder's
 * parser does for ENV, LABEL and ARG (`parseWords`).
 */
export function parseWords(rest: string, escapeChar: string): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let c = atEnd ? '' : (chars[pos] as string);
    if (phase === 'spaces') {
      if (atEnd) break;
      if (/\s/u.test(c)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (/\s/u.test(c)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (c === "'" || c === '"') {
        quote = c;
        blankOK = true;
        phase = 'quote';
      }
      if (c === escapeChar) {
        if (pos + 1 === chars.length) continue;
        // Outside quotes the escape and the next character are both kept, even a quote.
        word += c;
        pos++;
        c = chars[pos] as string;
      }
      word += c;
      continue;
    }
    // phase === 'quote'
    if (c === quote) phase = 'word';
    if (c === escapeChar && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += c;
      c = chars[pos] as string;
    }
    word += c;
  }
  return words;
}

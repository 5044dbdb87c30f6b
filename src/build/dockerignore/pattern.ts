/**
 * One .dockerignore pattern, compiled once the way moby/patternmatcher compiles it: an exact
 * string, a prefix (`dir/**`), a suffix (`**\/name`) or a regular expression. Matching a path is
 * then a string comparison or one precompiled RegExp test, never a regexp built per file
 * (moby#26816: 33 CPU-seconds for 14k files when every pattern was compiled per file).
 */
import { GoRegexError, goRegexToJs } from './goregex.js';
import { compileLinearRegex, unboundedRepeats } from './linear-regex.js';

/** How a compiled pattern matches (moby's matchType). */
export type PatternKind = 'exact' | 'prefix' | 'suffix' | 'regexp';

/** Why a pattern was rejected (Go's filepath.ErrBadPattern, or the regexp compiler's message). */
export class BadPatternError extends Error {
  override readonly name = 'BadPatternError';
}

/** Characters that are regexp syntax but plain in filepath.Match patterns (moby shouldEscape). */
const SHOULD_ESCAPE = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/**
 * Go's filepath.Match syntax check on Linux, which moby runs on every pattern
 * (`filepath.Match(p, ".")`): classes must close, hold at least one item, and never start an
 * item with `-` or `]`; a backslash needs a following character.
 */
export function checkGlobSyntax(pattern: string): void {
  const cps = Array.from(pattern);
  const n = cps.length;
  let i = 0;
  const bad = (why: string): never => {
    throw new BadPatternError(`syntax error in pattern: ${why}`);
  };
  // Go's getEsc: one class item character, escaped or not; something must follow it.
  const getEsc = (at: number): number => {
    let k = at;
    const c = cps[k];
    if (c === undefined || c === '-' || c === ']') bad(c === undefined ? 'unterminated character class' : `unexpected ${c} in character class`);
    if (c === '\\') {
      k++;
      if (k >= n) bad('trailing backslash');
    }
    k++;
    if (k >= n) bad('unterminated character class');
    return k;
  };
  while (i < n) {
    const c = cps[i];
    if (c === '[') {
      i++;
      if (cps[i] === '^') i++;
      let items = 0;
      for (;;) {
        if (cps[i] === ']' && items > 0) {
          i++;
          break;
        }
        i = getEsc(i);
        if (cps[i] === '-') i = getEsc(i + 1);
        items++;
      }
    } else if (c === '\\') {
      if (i + 1 >= n) bad('trailing backslash');
      i += 2;
    } else {
      i++;
    }
  }
}

/** A compiled pattern. `text` is the cleaned pattern without its leading `!`. */
export interface CompiledPattern {
  readonly text: string;
  readonly exclusion: boolean;
  readonly kind: PatternKind;
  /** Tests a cleaned, slash-separated relative path against this pattern alone. */
  readonly test: (path: string) => boolean;
}

/**
 * moby's Pattern.compile: scans the pattern once, building the Go expression text and deciding
 * the cheapest kind of match; the expression is translated to a JS RegExp only when needed.
 * @throws BadPatternError when Go would reject the pattern.
 */
export function compilePattern(text: string, exclusion: boolean): CompiledPattern {
  checkGlobSyntax(text);
  const cps = Array.from(text);
  let reg = '^';
  let kind: PatternKind = 'exact';
  let pos = 0;
  const peek = (): string | undefined => cps[pos];
  for (let i = 0; pos < cps.length; i++) {
    const ch = cps[pos++] as string;
    if (ch === '*') {
      if (peek() === '*') {
        pos++;
        // Treat `**/` as `**`: eat the slash.
        if (peek() === '/') pos++;
        if (peek() === undefined) {
          // `**` at the end accepts everything, as in .gitignore.
          if (kind === 'exact') kind = 'prefix';
          else {
            reg += '.*';
            kind = 'regexp';
          }
        } else {
          // Any number of directories, including none.
          reg += '(.*/)?';
          kind = 'regexp';
        }
        if (i === 0) kind = 'suffix';
      } else {
        reg += '[^/]*';
        kind = 'regexp';
      }
    } else if (ch === '?') {
      reg += '[^/]';
      kind = 'regexp';
    } else if (SHOULD_ESCAPE.has(ch)) {
      reg += `\\${ch}`;
    } else if (ch === '\\') {
      const next = peek();
      if (next !== undefined) {
        pos++;
        reg += `\\${next}`;
        kind = 'regexp';
      } else {
        reg += '\\';
      }
    } else if (ch === '[' || ch === ']') {
      reg += ch;
      kind = 'regexp';
    } else {
      reg += ch;
    }
  }

  switch (kind) {
    case 'exact':
      return { text, exclusion, kind, test: (p) => p === text };
    case 'prefix': {
      const prefix = text.slice(0, -2);
      return { text, exclusion, kind, test: (p) => p.startsWith(prefix) };
    }
    case 'suffix': {
      const suffix = text.slice(2);
      const bare = suffix.startsWith('/') ? suffix.slice(1) : undefined;
      // `**/foo` also matches `foo` itself.
      return { text, exclusion, kind, test: (p) => p.endsWith(suffix) || p === bare };
    }
    case 'regexp': {
      let re: { test(p: string): boolean };
      try {
        const source = goRegexToJs(`${reg}$`);
        re = new RegExp(source, 'u');
        // Several unbounded repetitions backtrack exponentially in V8 (RE2 never does): match
        // those in linear time instead (issue 7 fuzzing: `**\/a*\/**\/a*\/...` hung on deep paths).
        if (unboundedRepeats(source) > 2) re = compileLinearRegex(source);
      } catch (err) {
        const why = err instanceof GoRegexError || err instanceof SyntaxError ? err.message : String(err);
        throw new BadPatternError(`syntax error in pattern: ${why}`);
      }
      return { text, exclusion, kind, test: (p) => re.test(p) };
    }
  }
}

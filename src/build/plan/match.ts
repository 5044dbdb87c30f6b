/**
 * How the builder resolves COPY/ADD sources against the context: Go's `filepath.Match` (on
 * Linux: `*`, `?`, `[...]` classes, `\` escapes) applied below the source's last wildcard-free
 * directory, a match on a directory taking its whole subtree (BuildKit fsutil's
 * resolveWildcards; the classic builder's copyWithWildcards behaves the same).
 */

/** Thrown inside goMatch for a malformed pattern (Go's ErrBadPattern). */
class BadPattern extends Error {}

/**
 * Go's `filepath.Match(pattern, name)` on a `/`-separated system. Returns false for a malformed
 * pattern (the builder ignores the error and matches nothing).
 */
export function goMatch(pattern: string, name: string): boolean {
  try {
    return match(Array.from(pattern), Array.from(name));
  } catch (err) {
    if (err instanceof BadPattern) return false;
    throw err;
  }
}

/** True when `pattern` is well formed for goMatch. */
export function isValidGoPattern(pattern: string): boolean {
  try {
    match(Array.from(pattern), []);
    // A pattern can fail early on an empty name; check every chunk as Go does on a mismatch.
    let rest = Array.from(pattern);
    while (rest.length > 0) {
      const { chunk, rest: r } = scanChunk(rest);
      matchChunk(chunk, []);
      rest = r;
    }
    return true;
  } catch {
    return false;
  }
}

function match(pattern: string[], name: string[]): boolean {
  let p = pattern;
  let n = name;
  outer: while (p.length > 0) {
    const { star, chunk, rest } = scanChunk(p);
    p = rest;
    if (star && chunk.length === 0) {
      // A trailing * matches the rest of the name unless it holds a separator.
      return !n.includes('/');
    }
    const t = matchChunk(chunk, n);
    if (t !== undefined && (t.length === 0 || p.length > 0)) {
      n = t;
      continue;
    }
    if (star) {
      for (let i = 0; i < n.length && n[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, n.slice(i + 1));
        if (t2 !== undefined) {
          if (p.length === 0 && t2.length > 0) continue;
          n = t2;
          continue outer;
        }
      }
    }
    // Before giving up, check that the rest of the pattern is well formed (Go reports an error).
    while (p.length > 0) {
      const s = scanChunk(p);
      p = s.rest;
      matchChunk(s.chunk, []);
    }
    return false;
  }
  return n.length === 0;
}

function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let p = pattern;
  let star = false;
  while (p.length > 0 && p[0] === '*') {
    p = p.slice(1);
    star = true;
  }
  let inRange = false;
  let i = 0;
  scan: for (; i < p.length; i++) {
    switch (p[i]) {
      case '\\':
        if (i + 1 < p.length) i++;
        break;
      case '[':
        inRange = true;
        break;
      case ']':
        inRange = false;
        break;
      case '*':
        if (!inRange) break scan;
        break;
    }
  }
  return { star, chunk: p.slice(0, i), rest: p.slice(i) };
}

// Matches one chunk at the start of s; returns the rest of s, or undefined on a mismatch.
function matchChunk(chunkIn: string[], sIn: string[]): string[] | undefined {
  let chunk = chunkIn;
  let s = sIn;
  let failed = false;
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    const c = chunk[0] as string;
    if (c === '[') {
      let r = '';
      if (!failed) {
        r = s[0] as string;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      let negated = false;
      if (chunk.length > 0 && chunk[0] === '^') {
        negated = true;
        chunk = chunk.slice(1);
      }
      let matched = false;
      let nrange = 0;
      for (;;) {
        if (chunk.length > 0 && chunk[0] === ']' && nrange > 0) {
          chunk = chunk.slice(1);
          break;
        }
        const lo = getEsc(chunk);
        chunk = lo.rest;
        let hi = lo.r;
        if (chunk[0] === '-') {
          const h = getEsc(chunk.slice(1));
          chunk = h.rest;
          hi = h.r;
        }
        const rc = r.codePointAt(0) ?? -1;
        if ((lo.r.codePointAt(0) ?? 0) <= rc && rc <= (hi.codePointAt(0) ?? 0)) matched = true;
        nrange++;
      }
      if (matched === negated) failed = true;
      continue;
    }
    if (c === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
      continue;
    }
    let lit = c;
    if (c === '\\') {
      chunk = chunk.slice(1);
      if (chunk.length === 0) throw new BadPattern();
      lit = chunk[0] as string;
    }
    if (!failed) {
      if (lit !== s[0]) failed = true;
      s = s.slice(1);
    }
    chunk = chunk.slice(1);
  }
  return failed ? undefined : s;
}

function getEsc(chunkIn: string[]): { r: string; rest: string[] } {
  let chunk = chunkIn;
  if (chunk.length === 0 || chunk[0] === '-' || chunk[0] === ']') throw new BadPattern();
  if (chunk[0] === '\\') {
    chunk = chunk.slice(1);
    if (chunk.length === 0) throw new BadPattern();
  }
  const r = chunk[0] as string;
  const rest = chunk.slice(1);
  if (rest.length === 0) throw new BadPattern();
  return { r, rest };
}

/** True when a path segment holds an unescaped `*`, `?` or `[` (fsutil's containsWildcards). */
export function hasWildcards(segment: string): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '\\') i++;
    else if (c === '*' || c === '?' || c === '[') return true;
  }
  return false;
}

/**
 * Cleans a COPY/ADD source the way the builder does before resolving it: relative to the
 * source root, `..` cannot climb above it, `.` for the root itself.
 */
export function cleanSourcePath(src: string): string {
  const segments: string[] = [];
  for (const seg of src.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop();
    else segments.push(seg);
  }
  return segments.length === 0 ? '.' : segments.join('/');
}

/** Options for {@link matchContextSources}. */
export interface MatchContextOptions {
  /**
   * Also return the ancestor directories (present in `contextPaths`) of every matched path, so a
   * tar made of the result recreates the same tree. Default true.
   */
  readonly includeAncestors?: boolean;
}

const normalizeContextPath = (p: string): string => {
  let s = p.startsWith('./') ? p.slice(2) : p;
  while (s.endsWith('/') && s.length > 1) s = s.slice(0, -1);
  return s;
};

/**
 * Resolves COPY/ADD source patterns (as in {@link ContextRead.sources}) against the context's
 * paths the way the builder does, and returns the subset of `contextPaths` (the strings as
 * given) that the sources read:
 * - `.` reads everything;
 * - a source without wildcards names a file, or a directory and its whole subtree;
 * - otherwise the part after the last wildcard-free directory is a Go `filepath.Match` pattern
 *   matched against each path below that directory and against its ancestors there; a
 *   matching directory brings its whole subtree.
 * Paths are relative and `/`-separated (a leading `./` and a trailing `/` are ignored).
 */
export function matchContextSources(
  sources: readonly string[],
  contextPaths: Iterable<string>,
  options: MatchContextOptions = {},
): Set<string> {
  const includeAncestors = options.includeAncestors ?? true;
  const compiled = sources.map(compileSource);
  const all: { original: string; norm: string }[] = [];
  for (const original of contextPaths) all.push({ original, norm: normalizeContextPath(original) });
  const out = new Set<string>();
  const matchedNorm = new Set<string>();
  for (const { original, norm } of all) {
    if (norm === '' || norm === '.') continue;
    if (compiled.some((m) => m(norm))) {
      out.add(original);
      matchedNorm.add(norm);
    }
  }
  if (includeAncestors && matchedNorm.size > 0) {
    const ancestors = new Set<string>();
    for (const p of matchedNorm) {
      let i = p.lastIndexOf('/');
      while (i > 0) {
        const a = p.slice(0, i);
        if (ancestors.has(a)) break;
        ancestors.add(a);
        i = a.lastIndexOf('/');
      }
    }
    for (const { original, norm } of all) if (ancestors.has(norm)) out.add(original);
  }
  return out;
}

// One source → a predicate over normalised context paths.
function compileSource(source: string): (path: string) => boolean {
  const src = cleanSourcePath(source);
  if (src === '.') return () => true;
  const segments = src.split('/');
  const firstWild = segments.findIndex(hasWildcards);
  if (firstWild < 0) return (p) => p === src || p.startsWith(`${src}/`);
  const base = segments.slice(0, firstWild).join('/');
  const pattern = segments.slice(firstWild).join('/');
  const prefix = base === '' ? '' : `${base}/`;
  return (p) => {
    if (!p.startsWith(prefix)) return false;
    const rel = p.slice(prefix.length);
    if (rel === '') return false;
    // The builder walks down from the base and stops at the first match: check rel and each
    // of its ancestors below the base.
    let end = rel.indexOf('/');
    while (end !== -1) {
      if (goMatch(pattern, rel.slice(0, end))) return true;
      end = rel.indexOf('/', end + 1);
    }
    return goMatch(pattern, rel);
  };
}

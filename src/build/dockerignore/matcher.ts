/**
 * The .dockerignore decision for a path, with moby/patternmatcher's rules: patterns apply in
 * order and the last one that matches wins; a pattern matching a parent directory matches
 * everything below it. Patterns are compiled once, when the matcher is built.
 */
import { goCleanPath, goTrimSpace } from './clean.js';
import { BadPatternError, compilePattern, type CompiledPattern } from './pattern.js';

/**
 * What the walker carries from a directory to its children: per pattern, whether the directory
 * (or one of its parents) matched it. The same idea as moby's MatchInfo.
 */
export type ParentMatches = readonly boolean[] | undefined;

const NO_PATTERNS: { excluded: boolean; matches: boolean[] } = Object.freeze({ excluded: false, matches: [] as boolean[] }) as { excluded: boolean; matches: boolean[] };

/** A pattern the matcher could not compile, with its index in the input list. */
export class PatternListError extends Error {
  override readonly name = 'PatternListError';
  constructor(
    message: string,
    readonly index: number,
  ) {
    super(message);
  }
}

/** Every pattern of a .dockerignore, compiled; see moby/patternmatcher `New`. */
export class PatternMatcher {
  readonly patterns: readonly CompiledPattern[];
  /** True when at least one pattern is an exception (`!pattern`). */
  readonly hasExclusions: boolean;
  /** For each kept pattern, its index in the list given to the constructor. */
  readonly sourceIndex: readonly number[];

  /**
   * Compiles `patterns` in order. Each is trimmed and cleaned; blank ones are dropped.
   * @throws PatternListError naming the index of the first bad pattern.
   */
  constructor(patterns: readonly string[]) {
    const out: CompiledPattern[] = [];
    const idx: number[] = [];
    let exclusions = false;
    patterns.forEach((raw, index) => {
      let p = goTrimSpace(raw);
      if (p === '') return;
      p = goCleanPath(p);
      let exclusion = false;
      if (p.startsWith('!')) {
        if (p.length === 1) throw new PatternListError('illegal exclusion pattern: "!"', index);
        exclusion = true;
        exclusions = true;
        p = p.slice(1);
      }
      try {
        out.push(compilePattern(p, exclusion));
      } catch (err) {
        if (err instanceof BadPatternError) throw new PatternListError(`${err.message} (${JSON.stringify(p)})`, index);
        throw err;
      }
      idx.push(index);
    });
    this.patterns = out;
    this.sourceIndex = idx;
    this.hasExclusions = exclusions;
  }

  /** True when `path` itself matches and no later exception undoes it (moby MatchesExact). */
  matchesExact(path: string): boolean {
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      if (p.test(path)) matched = !p.exclusion;
    }
    return matched;
  }

  /**
   * True when `path` or one of its parent directories matches, last match winning
   * (moby MatchesOrParentMatches). `path` is slash-separated and relative to the context.
   */
  matchesOrParentMatches(path: string): boolean {
    const parents = parentPrefixes(path);
    let matched = false;
    for (const p of this.patterns) {
      if (p.exclusion !== matched) continue;
      let match = p.test(path);
      if (!match) match = parents.some((dir) => p.test(dir));
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /** Like {@link matchesOrParentMatches} after cleaning `path`; the context root is never excluded. */
  excludes(path: string): boolean {
    const file = goCleanPath(path);
    return file === '.' ? false : this.matchesOrParentMatches(file);
  }

  /**
   * The walker's form (moby MatchesUsingParentResults, which the docker CLI and BuildKit use):
   * `parent` holds the directory's per-pattern results, so each path costs one test per
   * pattern at most. Without `parent` (a top-level path) every parent is checked.
   */
  matchWithParent(path: string, parent: ParentMatches): { excluded: boolean; matches: boolean[] } {
    const n = this.patterns.length;
    // Without patterns nothing is excluded: share one empty result instead of allocating per path.
    if (n === 0) return NO_PATTERNS;
    const matches = new Array<boolean>(n).fill(false);
    let matched = false;
    let parents: string[] | undefined;
    for (let i = 0; i < n; i++) {
      const p = this.patterns[i] as CompiledPattern;
      let match = parent !== undefined && parent[i] === true;
      if (!match) {
        // Skipping a pattern that cannot change the result, as moby does; its entry stays false.
        if (p.exclusion !== matched) continue;
        match = p.test(path);
        if (!match && parent === undefined) {
          parents ??= parentPrefixes(path);
          match = parents.some((dir) => p.test(dir));
        }
      }
      matches[i] = match;
      if (match) matched = !p.exclusion;
    }
    return { excluded: matched, matches };
  }

  /**
   * Whether the walker must still descend into an excluded directory: some exception pattern
   * starts with `dir/` (the docker CLI's rule; `!**\/keep` does not count).
   */
  mustDescend(dir: string): boolean {
    if (!this.hasExclusions) return false;
    const dirSlash = `${dir}/`;
    return this.patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(dirSlash));
  }
}

/**
 * The parent directories of `file`, shortest first, as moby derives them: split
 * `filepath.Dir(file)` on `/` and join growing prefixes (nothing when Dir is `.`).
 */
function parentPrefixes(file: string): string[] {
  const slash = file.lastIndexOf('/');
  if (slash < 0) return [];
  const dir = goCleanPath(file.slice(0, slash + 1));
  if (dir === '.') return [];
  const parts = dir.split('/');
  const out: string[] = [];
  for (let i = 0; i < parts.length; i++) out.push(parts.slice(0, i + 1).join('/'));
  return out;
}

/**
 * The test tables of moby/patternmatcher (patternmatcher_test.go), ported case by case: the
 * same patterns, texts and expectations, run through every matching entry point moby has
 * (exact, or-parent, using-parent-results with and without parent context).
 */
import { describe, expect, it } from 'vitest';
import { PatternListError, PatternMatcher } from '../../../../src/build/dockerignore/matcher.js';
import { compilePattern, type PatternKind } from '../../../../src/build/dockerignore/pattern.js';
import { goCleanPath } from '../../../../src/build/dockerignore/clean.js';

type Pass = 'fail' | 'exact' | 'inexact';

const tests: Array<[string, string, Pass]> = [
  ['**', 'file', 'exact'],
  ['**', 'file/', 'exact'],
  ['**/', 'file', 'exact'],
  ['**/', 'file/', 'exact'],
  ['**', '/', 'exact'],
  ['**/', '/', 'exact'],
  ['**', 'dir/file', 'exact'],
  ['**/', 'dir/file', 'exact'],
  ['**', 'dir/file/', 'exact'],
  ['**/', 'dir/file/', 'exact'],
  ['**/**', 'dir/file', 'exact'],
  ['**/**', 'dir/file/', 'exact'],
  ['dir/**', 'dir/file', 'exact'],
  ['dir/**', 'dir/file/', 'exact'],
  ['dir/**', 'dir/dir2/file', 'exact'],
  ['dir/**', 'dir/dir2/file/', 'exact'],
  ['**/dir', 'dir', 'exact'],
  ['**/dir', 'dir/file', 'inexact'],
  ['**/dir2/*', 'dir/dir2/file', 'exact'],
  ['**/dir2/*', 'dir/dir2/file/', 'inexact'],
  ['**/dir2/**', 'dir/dir2/dir3/file', 'exact'],
  ['**/dir2/**', 'dir/dir2/dir3/file/', 'exact'],
  ['**file', 'file', 'exact'],
  ['**file', 'dir/file', 'exact'],
  ['**/file', 'dir/file', 'exact'],
  ['**file', 'dir/dir/file', 'exact'],
  ['**/file', 'dir/dir/file', 'exact'],
  ['**/file*', 'dir/dir/file', 'exact'],
  ['**/file*', 'dir/dir/file.txt', 'exact'],
  ['**/file*txt', 'dir/dir/file.txt', 'exact'],
  ['**/file*.txt', 'dir/dir/file.txt', 'exact'],
  ['**/file*.txt*', 'dir/dir/file.txt', 'exact'],
  ['**/**/*.txt', 'dir/dir/file.txt', 'exact'],
  ['**/**/*.txt2', 'dir/dir/file.txt', 'fail'],
  ['**/*.txt', 'file.txt', 'exact'],
  ['**/**/*.txt', 'file.txt', 'exact'],
  ['a**/*.txt', 'a/file.txt', 'exact'],
  ['a**/*.txt', 'a/dir/file.txt', 'exact'],
  ['a**/*.txt', 'a/dir/dir/file.txt', 'exact'],
  ['a/*.txt', 'a/dir/file.txt', 'fail'],
  ['a/*.txt', 'a/file.txt', 'exact'],
  ['a/*.txt**', 'a/file.txt', 'exact'],
  ['a[b-d]e', 'ae', 'fail'],
  ['a[b-d]e', 'ace', 'exact'],
  ['a[b-d]e', 'aae', 'fail'],
  ['a[^b-d]e', 'aze', 'exact'],
  ['.*', '.foo', 'exact'],
  ['.*', 'foo', 'fail'],
  ['abc.def', 'abcdef', 'fail'],
  ['abc.def', 'abc.def', 'exact'],
  ['abc.def', 'abcZdef', 'fail'],
  ['abc?def', 'abcZdef', 'exact'],
  ['abc?def', 'abcdef', 'fail'],
  ['**/foo/bar', 'foo/bar', 'exact'],
  ['**/foo/bar', 'dir/foo/bar', 'exact'],
  ['**/foo/bar', 'dir/dir2/foo/bar', 'exact'],
  ['abc/**', 'abc', 'fail'],
  ['abc/**', 'abc/def', 'exact'],
  ['abc/**', 'abc/def/ghi', 'exact'],
  ['**/.foo', '.foo', 'exact'],
  ['**/.foo', 'bar.foo', 'fail'],
  ['a(b)c/def', 'a(b)c/def', 'exact'],
  ['a(b)c/def', 'a(b)c/xyz', 'fail'],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', 'exact'],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact'],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact'],
  // Linux-only cases (backslash is an escape, not a separator).
  ['a\\\\', 'a\\', 'exact'],
  ['a\\*b', 'a*b', 'exact'],
];

const multiPatternTests: Array<[string[], string, Pass]> = [
  [['**', '!util/docker/web'], 'util/docker/web/foo', 'fail'],
  [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', 'exact'],
  [['**', '!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'fail'],
  [['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'fail'],
];

/** Go's filepath.Dir for the slash-separated test texts. */
function goDir(p: string): string {
  const slash = p.lastIndexOf('/');
  return slash < 0 ? '.' : goCleanPath(p.slice(0, slash + 1));
}

/** The walker's way: feed each parent's results to the next level, as the moby test does. */
function usingParentResults(pm: PatternMatcher, text: string): boolean {
  const parentPath = goDir(text);
  let info: boolean[] | undefined;
  if (parentPath !== '.') {
    const dirs = parentPath.split('/');
    for (let i = 0; i < dirs.length; i++) info = pm.matchWithParent(dirs.slice(0, i + 1).join('/'), info).matches;
  }
  return pm.matchWithParent(text, info).excluded;
}

describe('moby/patternmatcher TestMatches', () => {
  it.each(tests)('MatchesExact %j %j -> %s', (pattern, text, pass) => {
    expect(new PatternMatcher([pattern]).matchesExact(text)).toBe(pass === 'exact');
  });
  it.each(tests)('MatchesOrParentMatches %j %j -> %s', (pattern, text, pass) => {
    expect(new PatternMatcher([pattern]).matchesOrParentMatches(text)).toBe(pass !== 'fail');
  });
  it.each(multiPatternTests)('MatchesOrParentMatches (multi) %j %j -> %s', (patterns, text, pass) => {
    expect(new PatternMatcher(patterns).matchesOrParentMatches(text)).toBe(pass !== 'fail');
  });
  it.each(tests)('MatchesUsingParentResults %j %j -> %s', (pattern, text, pass) => {
    expect(usingParentResults(new PatternMatcher([pattern]), text)).toBe(pass !== 'fail');
  });
  it.each(multiPatternTests)('MatchesUsingParentResults (multi) %j %j -> %s', (patterns, text, pass) => {
    expect(usingParentResults(new PatternMatcher(patterns), text)).toBe(pass !== 'fail');
  });
  it.each(tests)('MatchesUsingParentResultsNoContext %j %j -> %s', (pattern, text, pass) => {
    expect(new PatternMatcher([pattern]).matchWithParent(text, undefined).excluded).toBe(pass !== 'fail');
  });
  it.each(multiPatternTests)('MatchesUsingParentResultsNoContext (multi) %j %j -> %s', (patterns, text, pass) => {
    expect(new PatternMatcher(patterns).matchWithParent(text, undefined).excluded).toBe(pass !== 'fail');
  });
});

describe('moby/patternmatcher simple cases', () => {
  const matches = (file: string, patterns: string[]): boolean => new PatternMatcher(patterns).excludes(file);
  it('wildcard', () => expect(matches('fileutils.go', ['*'])).toBe(true));
  it('pattern', () => expect(matches('fileutils.go', ['*.go'])).toBe(true));
  it('exclusion before the pattern', () => expect(matches('fileutils.go', ['!fileutils.go', '*.go'])).toBe(true));
  it('folder exclusion', () => expect(matches('docs/README.md', ['docs', '!docs/README.md'])).toBe(false));
  it('folder with slash exclusion', () => expect(matches('docs/README.md', ['docs/', '!docs/README.md'])).toBe(false));
  it('folder wildcard exclusion', () => expect(matches('docs/README.md', ['docs/*', '!docs/README.md'])).toBe(false));
  it('exclusion after the pattern', () => expect(matches('fileutils.go', ['*.go', '!fileutils.go'])).toBe(false));
  it('"." is never excluded', () => expect(matches('.', ['*.go'])).toBe(false));
  it('a single ! is an error', () => expect(() => new PatternMatcher(['!'])).toThrow(PatternListError));
  it('no patterns match nothing', () => expect(matches('/any/path/there', [])).toBe(false));
  it('malformed pattern is an error', () => expect(() => new PatternMatcher(['['])).toThrow(PatternListError));
  it('blank patterns are dropped', () => expect(new PatternMatcher(['docs', 'config', '']).patterns).toHaveLength(2));
  it('exception flag', () => expect(new PatternMatcher(['docs', '!docs/README.md']).hasExclusions).toBe(true));
  it('leading space before ! trimmed', () => expect(new PatternMatcher(['docs', '  !docs/README.md']).hasExclusions).toBe(true));
  it('trailing space trimmed', () => expect(new PatternMatcher(['docs', '!docs/README.md  ']).hasExclusions).toBe(true));
});

// Go's filepath.Match tests as moby runs them (TestMatch): [pattern, text, match, badPattern].
const matchTests: Array<[string, string, boolean, boolean]> = [
  ['abc', 'abc', true, false],
  ['*', 'abc', true, false],
  ['*c', 'abc', true, false],
  ['a*', 'a', true, false],
  ['a*', 'abc', true, false],
  ['a*', 'ab/c', true, false],
  ['a*/b', 'abc/b', true, false],
  ['a*/b', 'a/c/b', false, false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true, false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true, false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false, false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false, false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true, false],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false, false],
  ['ab[c]', 'abc', true, false],
  ['ab[b-d]', 'abc', true, false],
  ['ab[e-g]', 'abc', false, false],
  ['ab[^c]', 'abc', false, false],
  ['ab[^b-d]', 'abc', false, false],
  ['ab[^e-g]', 'abc', true, false],
  ['a\\*b', 'a*b', true, false],
  ['a\\*b', 'ab', false, false],
  ['a?b', 'a☺b', true, false],
  ['a[^a]b', 'a☺b', true, false],
  ['a???b', 'a☺b', false, false],
  ['a[^a][^a][^a]b', 'a☺b', false, false],
  ['[a-ζ]*', 'α', true, false],
  ['*[a-ζ]', 'A', false, false],
  ['a?b', 'a/b', false, false],
  ['a*b', 'a/b', false, false],
  ['[\\]a]', ']', true, false],
  ['[\\-]', '-', true, false],
  ['[x\\-]', 'x', true, false],
  ['[x\\-]', '-', true, false],
  ['[x\\-]', 'z', false, false],
  ['[\\-x]', 'x', true, false],
  ['[\\-x]', '-', true, false],
  ['[\\-x]', 'a', false, false],
  ['[]a]', ']', false, true],
  ['[-]', '-', false, true],
  ['[x-]', 'x', false, true],
  ['[x-]', '-', false, true],
  ['[x-]', 'z', false, true],
  ['[-x]', 'x', false, true],
  ['[-x]', '-', false, true],
  ['[-x]', 'a', false, true],
  ['\\', 'a', false, true],
  ['[a-b-c]', 'a', false, true],
  ['[', 'a', false, true],
  ['[^', 'a', false, true],
  ['[^bc', 'a', false, true],
  ['a[', 'a', false, true],
  ['a[', 'ab', false, true],
  ['*x', 'xxx', true, false],
];

describe('moby/patternmatcher TestMatch (Go filepath.Match cases)', () => {
  it.each(matchTests)('%j %j -> %s (bad pattern: %s)', (pattern, text, match, bad) => {
    if (bad) {
      expect(() => new PatternMatcher([pattern])).toThrow(PatternListError);
      return;
    }
    expect(new PatternMatcher([pattern]).excludes(text)).toBe(match);
  });
});

// TestCompile: the kind of match each pattern compiles to (regexp text is internal).
const compileTests: Array<[string, PatternKind]> = [
  ['*', 'regexp'],
  ['file*', 'regexp'],
  ['*file', 'regexp'],
  ['a*/b', 'regexp'],
  ['**', 'suffix'],
  ['**/**', 'regexp'],
  ['dir/**', 'prefix'],
  ['**/dir', 'suffix'],
  ['**/dir2/*', 'regexp'],
  ['**/dir2/**', 'regexp'],
  ['**file', 'suffix'],
  ['**/file*txt', 'regexp'],
  ['**/**/*.txt', 'regexp'],
  ['a[b-d]e', 'regexp'],
  ['.*', 'regexp'],
  ['abc.def', 'exact'],
  ['abc?def', 'regexp'],
  ['**/foo/bar', 'suffix'],
  ['a(b)c/def', 'exact'],
  ['a.|)$(}+{bc', 'exact'],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'exact'],
];

describe('moby/patternmatcher TestCompile', () => {
  it.each(compileTests)('%j compiles to a %s match', (pattern, kind) => {
    expect(compilePattern(goCleanPath(pattern), false).kind).toBe(kind);
  });
});

describe('moby/patternmatcher malformed class ranges (moby#52203)', () => {
  it('rejects [Local-Only]/ when the matcher is built, not on every match', () => {
    // moby accepts it in New() and fails each match with ErrBadPattern; imgtool fails earlier,
    // with the same outcome for a build (it cannot proceed), and never panics.
    expect(() => new PatternMatcher(['[Local-Only]/'])).toThrow(PatternListError);
  });
});

describe('Go regexp constructs reachable from patterns', () => {
  it('treats [*] the way moby does: `[` + `[^/]*` + `]` in the Go expression', () => {
    // moby turns `[*]` into ^[[^/]*]$ : a class {[,^,/} repeated, then a literal `]`.
    const pm = new PatternMatcher(['[*]']);
    expect(pm.matchesExact(']')).toBe(true);
    expect(pm.matchesExact('[^/]')).toBe(true);
    expect(pm.matchesExact('*')).toBe(false);
  });
  it('supports POSIX classes inside brackets like Go', () => {
    const pm = new PatternMatcher(['[[:digit:]]x']);
    // Go's regexp reads `[[:digit:]]` as one class (digits), then `x`.
    expect(pm.matchesExact('7x')).toBe(true);
    expect(pm.matchesExact('ax')).toBe(false);
  });
  it('a character class never crosses into a newline-free dot', () => {
    const pm = new PatternMatcher(['a/**/b*']);
    expect(pm.matchesExact('a/x/y/bz')).toBe(true);
    expect(pm.matchesExact('a/bz')).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { cleanSourcePath, goMatch, hasWildcards, isValidGoPattern, matchContextSources } from '../../../../src/build/plan/match.js';

// Go's path/filepath match_test.go cases (Unix): pattern, name, match, bad pattern.
const GO_CASES: [string, string, boolean, boolean][] = [
  ['abc', 'abc', true, false],
  ['*', 'abc', true, false],
  ['*c', 'abc', true, false],
  ['a*', 'a', true, false],
  ['a*', 'abc', true, false],
  ['a*', 'ab/c', false, false],
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
  ['a[', 'x', false, true],
  ['a/b[', 'x', false, true],
  ['*x', 'xxx', true, false],
];

describe('goMatch = Go filepath.Match', () => {
  for (const [pattern, name, want, bad] of GO_CASES) {
    it(`${pattern} ~ ${name} → ${want}${bad ? ' (bad pattern)' : ''}`, () => {
      expect(goMatch(pattern, name)).toBe(want);
      expect(isValidGoPattern(pattern)).toBe(!bad);
    });
  }
});

describe('cleanSourcePath / hasWildcards', () => {
  it('cleans like path.Join("/", src) relative to the root', () => {
    expect(cleanSourcePath('./a//b/')).toBe('a/b');
    expect(cleanSourcePath('/abs/x')).toBe('abs/x');
    expect(cleanSourcePath('../../etc/passwd')).toBe('etc/passwd');
    expect(cleanSourcePath('a/../../b')).toBe('b');
    expect(cleanSourcePath('.')).toBe('.');
    expect(cleanSourcePath('')).toBe('.');
    expect(cleanSourcePath('a/./b/*')).toBe('a/b/*');
  });
  it('finds unescaped wildcards', () => {
    expect(hasWildcards('a*')).toBe(true);
    expect(hasWildcards('a?')).toBe(true);
    expect(hasWildcards('[ab]')).toBe(true);
    expect(hasWildcards('a\\*')).toBe(false);
    expect(hasWildcards('plain')).toBe(false);
  });
});

describe('matchContextSources', () => {
  const ctx = [
    'Dockerfile',
    'package.json',
    'package-lock.json',
    'src',
    'src/index.js',
    'src/lib',
    'src/lib/a.js',
    'src/lib/b.ts',
    'test',
    'test/a.test.js',
    'node_modules',
    'node_modules/x',
    'node_modules/x/index.js',
    'docs/readme.md',
    'a*b',
  ];
  const m = (sources: string[], opts = { includeAncestors: false }) => [...matchContextSources(sources, ctx, opts)].sort();

  it('. is everything', () => expect(m(['.'])).toEqual([...ctx].sort()));
  it('a file', () => expect(m(['package.json'])).toEqual(['package.json']));
  it('a directory brings its subtree', () => expect(m(['src'])).toEqual(['src', 'src/index.js', 'src/lib', 'src/lib/a.js', 'src/lib/b.ts']));
  it('a wildcard per segment, not across /', () => {
    expect(m(['package*.json'])).toEqual(['package-lock.json', 'package.json']);
    expect(m(['src/*.js'])).toEqual(['src/index.js']);
    expect(m(['*/*.js'])).toEqual(['src/index.js', 'test/a.test.js']);
  });
  it('a wildcard matching a directory brings its subtree', () => {
    expect(m(['s?c'])).toEqual(['src', 'src/index.js', 'src/lib', 'src/lib/a.js', 'src/lib/b.ts']);
    expect(m(['src/l[i]b'])).toEqual(['src/lib', 'src/lib/a.js', 'src/lib/b.ts']);
  });
  it('a wildcard-free source is a literal path (\\ included); [*] matches a literal *; ./, /, .. are cleaned', () => {
    expect(m(['a\\*b'])).toEqual([]);
    expect(m(['a[*]b'])).toEqual(['a*b']);
    expect(m(['./src/lib/'])).toEqual(['src/lib', 'src/lib/a.js', 'src/lib/b.ts']);
    expect(m(['/docs'])).toEqual(['docs/readme.md']);
    expect(m(['../package.json'])).toEqual(['package.json']);
  });
  it('nothing for a missing path or a bad pattern', () => {
    expect(m(['nope', 'src/[x'])).toEqual([]);
  });
  it('adds ancestor directories present in the list by default', () => {
    expect([...matchContextSources(['src/lib/a.js'], ctx)].sort()).toEqual(['src', 'src/lib', 'src/lib/a.js']);
  });
  it('returns the strings as given (./ and trailing / tolerated)', () => {
    expect([...matchContextSources(['src'], ['./src/', './src/x'], { includeAncestors: false })]).toEqual(['./src/', './src/x']);
  });
});

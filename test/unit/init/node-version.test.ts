import { describe, expect, it } from 'vitest';
import { minVersion, parseRange, satisfies, type Version } from '../../../src/init/semver-range.js';
import { tagForRange, tagForVersionFile, tagSatisfies } from '../../../src/init/node-version.js';

const sat = (v: Version, r: string): boolean => {
  const range = parseRange(r);
  if (!range) throw new Error(`unparsed ${r}`);
  return satisfies(v, range);
};

describe('semver ranges (the engines.node subset)', () => {
  it.each([
    [[20, 18, 0], '>=20', true],
    [[18, 20, 0], '>=20', false],
    [[20, 18, 0], '^20.18.0 || >=22', true],
    [[21, 0, 0], '^20.18.0 || >=22', false],
    [[22, 11, 0], '^20.18.0 || >=22', true],
    [[20, 18, 0], '20.x', true],
    [[21, 1, 0], '20', false],
    [[20, 18, 0], '~20.17', false],
    [[20, 17, 5], '~20.17', true],
    [[20, 18, 0], '18 - 20', true],
    [[21, 0, 0], '18 - 20', false],
    [[20, 0, 0], '>= 18 < 21', true],
    [[20, 0, 0], '>18', true],
    [[18, 9, 0], '>18', false],
    [[20, 18, 0], '*', true],
    [[20, 18, 0], '<=20.17', false],
    [[0, 3, 1], '^0.3.0', true],
    [[0, 4, 0], '^0.3.0', false],
  ] as [Version, string, boolean][])('%j satisfies %s: %s', (v, r, want) => {
    expect(sat(v, r)).toBe(want);
  });

  it('finds the lowest version of a range', () => {
    expect(minVersion(parseRange('>=18.17 <19 || ^20')!)).toEqual([18, 17, 0]);
    expect(minVersion(parseRange('>20.1.2')!)).toEqual([20, 1, 3]);
    expect(parseRange('not a range')).toBeUndefined();
  });
});

describe('Node image tag choice', () => {
  it('pins version files to a release line, exact versions stay exact', () => {
    expect(tagForVersionFile('20').tag).toBe('20.18');
    expect(tagForVersionFile('v22').tag).toBe('22.11');
    expect(tagForVersionFile('20.17.0').tag).toBe('20.17.0');
    expect(tagForVersionFile('v20.17.0').tag).toBe('20.17.0');
    expect(tagForVersionFile('lts/iron').tag).toBe('20.18');
    expect(tagForVersionFile('lts/jod').tag).toBe('22.11');
  });

  it('uses the default line when engines allows it, else the newest known line that fits', () => {
    expect(tagForRange('>=18').tag).toBe('20.18');
    expect(tagForRange('>=22').tag).toBe('24.11');
    expect(tagForRange('^22.0.0').tag).toBe('22.11');
    expect(tagForRange('18.x').tag).toBe('18.20');
  });

  it('falls back to the range minimum, with a warning, for lines it does not pin', () => {
    const odd = tagForRange('^21.2');
    expect(odd.tag).toBe('21.2');
    expect(odd.warning).toMatch(/none of the release lines/);
    expect(tagForRange('garbage!').warning).toMatch(/cannot read/);
  });

  it('checks a tag against a range', () => {
    expect(tagSatisfies('20.18', '>=20')).toBe(true);
    expect(tagSatisfies('18.20', '>=20')).toBe(false);
  });
});

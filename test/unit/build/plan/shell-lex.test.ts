import { describe, expect, it } from 'vitest';
import { ShellLexError, parseWords, processWord } from '../../../../src/build/plan/shell-lex.js';

const ENV: Record<string, string> = { PWD: '/home', SHELL: 'bash', KOREAN: '한국어', NULL: '' };
const lookup =
  (env: Record<string, string>) =>
  (name: string): string | undefined =>
    Object.hasOwn(env, name) ? env[name] : undefined;
const expand = (word: string, env = ENV, escapeChar = '\\'): string => processWord(word, lookup(env), { escapeChar }).result;

// The builder's own behaviour, case by case (input | expected; "error" when it must fail).
const TABLE: [string, string][] = [
  ['hello', 'hello'],
  ["he'll'o", 'hello'],
  ["he'llo", 'error'],
  ["he\\'llo", "he'llo"],
  ["he\\\\'llo", 'error'],
  ['abc\\tdef', 'abctdef'],
  ['"abc\\tdef"', 'abc\\tdef'],
  ['"abc\\\\tdef"', 'abc\\tdef'],
  ["'abc\\tdef'", 'abc\\tdef'],
  ['hello\\', 'hello'],
  ['hello\\\\', 'hello\\'],
  ['"hello', 'error'],
  ['"hello\\"', 'error'],
  ['"hel\'lo"', "hel'lo"],
  ["'hello", 'error'],
  ["'hello\\'", 'hello\\'],
  ["'hello\\there'", 'hello\\there'],
  ['"\'\'"', "''"],
  ['$.', '$.'],
  ['he$1x', 'hex'],
  ['he$.x', 'he$.x'],
  ['he$pwd.', 'he.'],
  ['he$PWD', 'he/home'],
  ['he\\$PWD', 'he$PWD'],
  ['he\\\\$PWD', 'he\\/home'],
  ['"he\\$PWD"', 'he$PWD'],
  ['"he\\\\$PWD"', 'he\\/home'],
  ['\\${}', '${}'],
  ['he\\${}xx', 'he${}xx'],
  ['${}', 'error'],
  ['he${}xx', 'error'],
  ['he${hi}', 'he'],
  ['he${hi}xx', 'hexx'],
  ['he${PWD}', 'he/home'],
  ['he${.}', 'error'],
  ['he${XXX:-000}xx', 'he000xx'],
  ['he${PWD:-000}xx', 'he/homexx'],
  ['he${XXX:-$PWD}xx', 'he/homexx'],
  ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
  ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
  ['he${XXX:YYY}', 'error'],
  ['he${XXX?}', 'error'],
  ['he${XXX:?}', 'error'],
  ['he${PWD?}', 'he/home'],
  ['he${PWD:?}', 'he/home'],
  ['he${NULL?}', 'he'],
  ['he${NULL:?}', 'error'],
  ['he${XXX:+${PWD}}xx', 'hexx'],
  ['he${PWD:+${XXX}}xx', 'hexx'],
  ['he${PWD:+${SHELL}}xx', 'hebashxx'],
  ['he${XXX:+000}xx', 'hexx'],
  ['he${PWD:+000}xx', 'he000xx'],
  ['he${NULL:+000}xx', 'hexx'],
  ['he${NULL+000}xx', 'he000xx'],
  ['he${NULL-000}xx', 'hexx'],
  ['he${NULL:-000}xx', 'he000xx'],
  ['he${XXX-000}xx', 'he000xx'],
  ["'he${XX}'", 'he${XX}'],
  ['"he${PWD}"', 'he/home'],
  ['"he\'$PWD\'"', "he'/home'"],
  ["'$PWD'", '$PWD'],
  ["'\\$PWD'", '\\$PWD'],
  ['\'"hello"\'', '"hello"'],
  ['he${PWD', 'error'],
  ['he${PWD:=000}xx', 'error'],
  ['he${PWD:+${PWD}:}xx', 'he/home:xx'],
  ['he${XXX:-\\$PWD:}xx', 'he$PWD:xx'],
  ['he${XXX:-\\${PWD}z}xx', 'he${PWDz}xx'],
  ['안녕하세요', '안녕하세요'],
  ["안'녕'하세요", '안녕하세요'],
  ["안'녕하세요", 'error'],
  ["안녕\\'하세요", "안녕'하세요"],
  ['${KOREAN}', '한국어'],
  ['${KOREAN:-abc}', '한국어'],
  ['${KOREAN:+abc}', 'abc'],
  ['$KOREAN:-abc', '한국어:-abc'],
  ['a b  c', 'a b  c'],
  ['pre"$SHELL"post', 'prebashpost'],
];

describe('processWord: the builder\'s expansion table', () => {
  for (const [input, want] of TABLE) {
    it(`${input} → ${want}`, () => {
      if (want === 'error') expect(() => expand(input)).toThrow(ShellLexError);
      else expect(expand(input)).toBe(want);
    });
  }
});

describe('processWord: pattern substitutions (newer BuildKit)', () => {
  const cases: [string, Record<string, string>, string][] = [
    ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx  ccc'],
    ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', { FOO: 'xxx', BAR: '' }, 'xxx bbb ccc'],
    ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa bbb '],
    ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', { FOO: 'xxx', BAR: '' }, 'aaa  '],
    ['${BAR?bbb}', { BAR: '' }, ''],
    ['${FOO#()[]{\\}^$.\\*\\?|\\\\}', { FOO: '()[]{}^$.*?|\\x' }, 'x'],
    ['${FOO%%\\**}', { FOO: 'xx**' }, 'xx'],
    ['${FOO#*x*y}', { FOO: 'xxyy' }, 'y'],
    ['${FOO##*x}', { FOO: 'xxyy' }, 'yy'],
    ['${FOO#?\\?}', { FOO: '???y' }, '?y'],
    ['${ABC:-.}${FOO%x}${ABC:-.}', { FOO: 'xxyy' }, '.xxyy.'],
    ['${FOO%%\\**\\*}', { FOO: 'a***yy*' }, 'a'],
    ['${FOO%y}', { FOO: 'xxyy' }, 'xxy'],
    ['${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}', { FOO: '/foo*/*/*.txt', NEEDLE: '\\*/' }, '/foo.*/*.txt - /foo..*.txt'],
    ['${FOO/$NEEDLE/} - ${FOO//$NEEDLE/}', { FOO: '/tmp/tmp/bar.txt', NEEDLE: '/tmp' }, '/tmp/bar.txt - /bar.txt'],
    ['${FOO/$NEEDLE/$R} - ${FOO//$NEEDLE/$R}', { FOO: '/a/foo/b/c.txt', NEEDLE: '/?/', R: '/' }, '/foo/b/c.txt - /foo/c.txt'],
    ['${FOO/$NEEDLE/$R}', { FOO: 'http://google.de', NEEDLE: 'http://', R: 'https://' }, 'https://google.de'],
    ['${FOO//\\//\\/}', { FOO: '/tmp/foo.txt' }, '\\/tmp\\/foo.txt'],
    ['something-${V}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz', { V: 'v1', TARGETOS: 'linux', TARGETARCH: 'arm', TARGETVARIANT: 'v7' }, 'something-v1.linux-arm-v7.tar.gz'],
    ['something-${V}.${TARGETOS}-${TARGETARCH}${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz', { V: 'v1', TARGETOS: 'linux', TARGETARCH: 'arm64' }, 'something-v1.linux-arm64.tar.gz'],
  ];
  for (const [input, env, want] of cases) it(`${input} → ${want}`, () => expect(expand(input, env)).toBe(want));

  it('rejects = as a modifier', () => {
    expect(() => expand('${FOO=aaa}', { FOO: 'x' })).toThrow(/unsupported modifier/);
    expect(() => expand('${FOO=:aaa}', { FOO: 'x' })).toThrow(ShellLexError);
  });

  it('${VAR:?msg} and ${VAR?msg}: the message (expanded) and the variable name', () => {
    const err = (word: string, env: Record<string, string>): ShellLexError => {
      try {
        expand(word, env);
      } catch (e) {
        return e as ShellLexError;
      }
      throw new Error('no error');
    };
    expect(err('${VAR:?message here$ARG}', { VAR: '', ARG: 'x' }).message).toContain('VAR: message herex');
    expect(err('${VAR:?message here$ARG}', { ARG: 'x' }).variable).toBe('VAR');
    expect(err('${VAR?message here$ARG}', { ARG: 'x' }).message).toContain('message herex');
    expect(expand('${VAR?message}', { VAR: '' })).toBe('');
    expect(err('${VAR:?}', {}).message).toContain('VAR: is not allowed to be unset');
    expect(err('${VAR:?}', { VAR: '' }).message).toContain('VAR: is not allowed to be empty');
  });
});

describe('processWord: options', () => {
  it('honours a backquote escape character', () => {
    expect(expand('he`$PWD', ENV, '`')).toBe('he$PWD');
    expect(expand('C:\\dir\\$SHELL', ENV, '`')).toBe('C:\\dir\\bash');
    expect(expand('"q`"q"', ENV, '`')).toBe('q"q');
  });
  it('splits words at unquoted white space after expansion', () => {
    const r = processWord('a "b c" $X', lookup({ X: 'd e' }), { escapeChar: '\\' });
    expect(r.words).toEqual(['a', 'b c', 'd', 'e']);
    expect(r.result).toBe('a b c d e');
  });
  it('records matched and unmatched variables', () => {
    const r = processWord('$PWD ${NOPE:-x}', lookup(ENV), { escapeChar: '\\' });
    expect([...r.matched]).toEqual(['PWD']);
    expect([...r.unmatched]).toEqual(['NOPE']);
  });
  it('keeps unset references with skipUnsetEnv and quotes with rawQuotes', () => {
    expect(processWord('$NOPE ${NOPE} ${NOPE:-x}', lookup({}), { escapeChar: '\\', skipUnsetEnv: true }).result).toBe('$NOPE ${NOPE} ${NOPE:-x}');
    expect(processWord('"a" \'b\'', lookup({}), { escapeChar: '\\', rawQuotes: true }).result).toBe('"a" \'b\'');
  });
});

describe('parseWords (ENV/LABEL/ARG word splitting)', () => {
  it('keeps quotes and escapes, splits at unquoted spaces', () => {
    expect(parseWords('A=1 B="2 3" C=\'x y\' D=a\\ b', '\\')).toEqual(['A=1', 'B="2 3"', "C='x y'", 'D=a\\ b']);
    expect(parseWords('  a   b  ', '\\')).toEqual(['a', 'b']);
    expect(parseWords('E=""', '\\')).toEqual(['E=""']);
    expect(parseWords('F=a`"b c', '`')).toEqual(['F=a`"b', 'c']);
  });
});

import { describe, expect, it } from 'vitest';
import { parseChallenges, preferredChallenge } from '../../../../src/registry/client/challenge.js';

describe('parseChallenges (WWW-Authenticate, RFC 7235)', () => {
  it('parses a Basic challenge', () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([{ scheme: 'basic', params: { realm: 'Registry Realm' } }]);
  });

  it('parses a Bearer challenge with realm, service and scope', () => {
    const [c] = parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
    expect(c).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
  });

  it('treats scheme and parameter names case-insensitively', () => {
    const [c] = parseChallenges('BEARER Realm="r", SERVICE="s", Scope="x:y:pull"');
    expect(c?.scheme).toBe('bearer');
    expect(c?.params).toEqual({ realm: 'r', service: 's', scope: 'x:y:pull' });
  });

  it('keeps parameter values case as sent', () => {
    expect(parseChallenges('Bearer realm="https://Auth.Example/Token"')[0]?.params['realm']).toBe('https://Auth.Example/Token');
  });

  it('unescapes quoted-pairs in quoted strings', () => {
    const [c] = parseChallenges('Basic realm="say \\"hi\\" \\\\ there"');
    expect(c?.params['realm']).toBe('say "hi" \\ there');
  });

  it('keeps commas and equals signs inside quoted strings', () => {
    const [c] = parseChallenges('Bearer realm="https://a/t?x=1,y=2",service="s"');
    expect(c?.params).toEqual({ realm: 'https://a/t?x=1,y=2', service: 's' });
  });

  it('accepts token (unquoted) values and whitespace around "="', () => {
    const [c] = parseChallenges('Bearer realm = https://a/t , service=svc');
    expect(c?.params).toEqual({ realm: 'https://a/t', service: 'svc' });
  });

  it('keeps a scope with several space-separated scopes intact', () => {
    const [c] = parseChallenges('Bearer realm="r",service="s",scope="repository:a:pull repository:b:pull,push"');
    expect(c?.params['scope']).toBe('repository:a:pull repository:b:pull,push');
  });

  it('parses the insufficient_scope error of a mid-session 401', () => {
    const [c] = parseChallenges('Bearer realm="r",service="s",scope="repository:x:push,pull",error="insufficient_scope"');
    expect(c?.params['error']).toBe('insufficient_scope');
  });

  it('splits several challenges in one header', () => {
    const cs = parseChallenges('Basic realm="basic", Bearer realm="https://t/token",service="svc"');
    expect(cs.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(cs[1]?.params).toEqual({ realm: 'https://t/token', service: 'svc' });
  });

  it('splits challenges where the first has no parameters', () => {
    const cs = parseChallenges('Negotiate, Basic realm="x"');
    expect(cs).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
  });

  it('reads a token68 and the next challenge after it', () => {
    const cs = parseChallenges('Negotiate abc+/d==, Bearer realm="r"');
    expect(cs[0]).toEqual({ scheme: 'negotiate', params: {}, token68: 'abc+/d==' });
    expect(cs[1]).toEqual({ scheme: 'bearer', params: { realm: 'r' } });
  });

  it('accepts several header values (repeated headers)', () => {
    const cs = parseChallenges(['Basic realm="a"', 'Bearer realm="b"']);
    expect(cs.map((c) => c.params['realm'])).toEqual(['a', 'b']);
  });

  it('first occurrence of a repeated parameter wins', () => {
    expect(parseChallenges('Bearer realm="first",realm="second"')[0]?.params['realm']).toBe('first');
  });

  it('tolerates empty list elements and trailing commas', () => {
    const cs = parseChallenges(' , Bearer realm="r",, service="s", ,');
    expect(cs).toEqual([{ scheme: 'bearer', params: { realm: 'r', service: 's' } }]);
  });

  it('tolerates an unterminated quoted string', () => {
    expect(parseChallenges('Bearer realm="https://a/t')[0]?.params['realm']).toBe('https://a/t');
  });

  it('returns nothing for empty or absent headers', () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('   ')).toEqual([]);
  });

  it('skips garbage and still finds a later challenge', () => {
    const cs = parseChallenges('"junk", Basic realm="ok"');
    expect(cs.find((c) => c.scheme === 'basic')?.params['realm']).toBe('ok');
  });

  it('never throws on random input (fuzz)', () => {
    const alphabet = 'aB =,"\\\t;:/-_.~+!#$%&*^`|0x';
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      const len = rand(60);
      let s = '';
      for (let j = 0; j < len; j++) s += alphabet[rand(alphabet.length)];
      const out = parseChallenges(s);
      expect(Array.isArray(out)).toBe(true);
      for (const c of out) {
        expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
        for (const k of Object.keys(c.params)) expect(k).toBe(k.toLowerCase());
      }
    }
  });

  it('prefers Bearer over Basic', () => {
    const cs = parseChallenges('Basic realm="b", Bearer realm="t"');
    expect(preferredChallenge(cs)?.scheme).toBe('bearer');
    expect(preferredChallenge(parseChallenges('Basic realm="b"'))?.scheme).toBe('basic');
    expect(preferredChallenge(parseChallenges('Digest realm="d"'))).toBeUndefined();
  });
});

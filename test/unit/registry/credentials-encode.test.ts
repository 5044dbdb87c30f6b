/**
 * X-Registry-Auth / X-Registry-Config encodings (protocols.md §1.2, §1.5): Go's
 * base64.URLEncoding, i.e. URL alphabet with `=` padding, which the daemon requires.
 */
import { describe, expect, it } from 'vitest';
import { base64UrlPadded, decodeBase64UrlJson, encodeRegistryAuth, encodeRegistryConfig, DOCKER_HUB_CONFIG_KEY } from '../../../src/registry/credentials/index.js';

const GO_URL_ENCODING = /^[A-Za-z0-9_-]*={0,2}$/;

describe('base64UrlPadded', () => {
  it('keeps padding and maps + and / like Go base64.URLEncoding', () => {
    expect(base64UrlPadded(Buffer.from([0xfb, 0xff]))).toBe('-_8=');
    expect(base64UrlPadded('a')).toBe('YQ==');
    expect(base64UrlPadded('ab')).toBe('YWI=');
    expect(base64UrlPadded('abc')).toBe('YWJj');
    // Node's own base64url drops the padding: the pitfall this function exists for.
    expect(Buffer.from('a').toString('base64url')).toBe('YQ');
  });
});

describe('encodeRegistryAuth', () => {
  it('anonymous is the encoding of {} (always sent)', () => {
    expect(encodeRegistryAuth(undefined, 'h:1')).toBe('e30=');
    expect(encodeRegistryAuth({}, 'h:1')).toBe(base64UrlPadded('{"serveraddress":"h:1"}'));
  });

  it('username/password/serveraddress, padded, URL alphabet', () => {
    // '~~~' and '???' force '+' and '/' in standard base64; lengths chosen to need padding.
    const header = encodeRegistryAuth({ username: 'robot$team+ci', password: '~~~???>' }, 'harbor.example.com');
    expect(header).toMatch(GO_URL_ENCODING);
    expect(header.length % 4).toBe(0);
    expect(header.endsWith('=')).toBe(true);
    expect(header).not.toMatch(/[+/]/);
    expect(decodeBase64UrlJson(header)).toEqual({ username: 'robot$team+ci', password: '~~~???>', serveraddress: 'harbor.example.com' });
  });

  it('identity token', () => {
    expect(decodeBase64UrlJson(encodeRegistryAuth({ username: 'u', identityToken: 'tok' }, DOCKER_HUB_CONFIG_KEY))).toEqual({
      username: 'u',
      identitytoken: 'tok',
      serveraddress: DOCKER_HUB_CONFIG_KEY,
    });
  });
});

describe('encodeRegistryConfig', () => {
  it('maps config keys to AuthConfigs, padded', () => {
    const header = encodeRegistryConfig({ [DOCKER_HUB_CONFIG_KEY]: { username: 'a', password: 'b' }, 'h:1': { registryToken: 'rt' } });
    expect(header).toMatch(GO_URL_ENCODING);
    expect(header.length % 4).toBe(0);
    expect(decodeBase64UrlJson(header)).toEqual({
      [DOCKER_HUB_CONFIG_KEY]: { username: 'a', password: 'b', serveraddress: DOCKER_HUB_CONFIG_KEY },
      'h:1': { registrytoken: 'rt', serveraddress: 'h:1' },
    });
    expect(encodeRegistryConfig(new Map())).toBe('e30=');
  });
});

import { describe, expect, it } from 'vitest';
import { ANONYMOUS_REGISTRY_AUTH, encodeRegistryHeader, redactHeaders, redactPath } from '../../../src/engine/headers.js';
import { buildQuery } from '../../../src/engine/build-query.js';
import { compareApiVersions, negotiateApiVersion, pinnedApiVersion, MAX_API_VERSION } from '../../../src/engine/versions.js';
import { ImgtoolError } from '../../../src/image/errors.js';

describe('encodeRegistryHeader', () => {
  it('is padded base64url of the JSON (Go base64.URLEncoding)', () => {
    // 'user?>' produces '+' and '/' in plain base64 and needs padding: both must survive as the daemon expects.
    const value = { username: 'u?>?', password: 'p>>>', serveraddress: 'r.example.com' };
    const encoded = encodeRegistryHeader(value);
    expect(encoded).not.toMatch(/[+/]/);
    expect(encoded.length % 4).toBe(0);
    expect(JSON.parse(Buffer.from(encoded.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'))).toEqual(value);
  });

  it('keeps = padding that Buffer base64url would drop', () => {
    const encoded = encodeRegistryHeader({ a: 'bc' }); // {"a":"bc"} is 10 bytes -> 16 chars ending '=='
    expect(encoded).toBe(Buffer.from('{"a":"bc"}').toString('base64'));
    expect(encoded.endsWith('==')).toBe(true);
  });

  it('anonymous is the encoding of {}', () => {
    expect(ANONYMOUS_REGISTRY_AUTH).toBe('e30=');
  });
});

describe('redaction for --debug logs', () => {
  it('replaces credential header values, whatever their case', () => {
    const out = redactHeaders({ 'X-Registry-Auth': 'c2VjcmV0', 'x-registry-config': 'e30=', Authorization: 'Bearer abc', 'content-type': 'application/x-tar' });
    expect(out).toEqual({ 'X-Registry-Auth': '<redacted>', 'x-registry-config': '<redacted>', Authorization: '<redacted>', 'content-type': 'application/x-tar' });
  });

  it('replaces build args in a logged path, keeping the rest', () => {
    const q = buildQuery({ tags: ['app:1'], buildArgs: { NPM_TOKEN: 's3cr3t-token' } });
    const logged = redactPath(`/v1.41/build?${q.toString()}`);
    expect(logged).not.toContain('s3cr3t');
    expect(logged).toContain('buildargs=<redacted>');
    expect(logged).toContain('t=app%3A1');
  });

  it('leaves paths without secrets alone', () => {
    expect(redactPath('/v1.41/images/a/json')).toBe('/v1.41/images/a/json');
    expect(redactPath('/v1.41/images/a/push?tag=1')).toBe('/v1.41/images/a/push?tag=1');
  });
});

describe('buildQuery (POST /build parameters)', () => {
  it('encodes every parameter as the moby client does', () => {
    const q = buildQuery({
      tags: ['a:1', 'b:2'],
      dockerfile: 'sub/Dockerfile',
      target: 'runtime',
      buildArgs: { A: '1', FROM_ENV: null },
      labels: { 'org.opencontainers.image.source': 'x' },
      cacheFrom: ['a:0'],
      noCache: true,
      pull: false,
      quiet: true,
      rm: true,
      forceRm: false,
      networkMode: 'none',
      platform: 'linux/amd64',
      outputs: [{ type: 'moby' }],
      version: '2',
      extraHosts: ['h1:10.0.0.1', 'h2:10.0.0.2'],
      shmSize: 1024,
      buildId: 'b1',
    });
    expect(q.getAll('t')).toEqual(['a:1', 'b:2']);
    expect(q.get('dockerfile')).toBe('sub/Dockerfile');
    expect(q.get('target')).toBe('runtime');
    expect(JSON.parse(q.get('buildargs') ?? '')).toEqual({ A: '1', FROM_ENV: null });
    expect(JSON.parse(q.get('labels') ?? '')).toEqual({ 'org.opencontainers.image.source': 'x' });
    expect(JSON.parse(q.get('cachefrom') ?? '')).toEqual(['a:0']);
    expect([q.get('nocache'), q.get('pull'), q.get('q'), q.get('rm'), q.get('forcerm')]).toEqual(['1', '0', '1', '1', '0']);
    expect(q.get('networkmode')).toBe('none');
    expect(q.get('platform')).toBe('linux/amd64');
    expect(JSON.parse(q.get('outputs') ?? '')).toEqual([{ Type: 'moby', Attrs: {} }]);
    expect(q.get('version')).toBe('2');
    expect(q.getAll('extrahosts')).toEqual(['h1:10.0.0.1', 'h2:10.0.0.2']);
    expect(q.get('shmsize')).toBe('1024');
    expect(q.get('buildid')).toBe('b1');
  });

  it('omits unset parameters so the daemon defaults apply', () => {
    expect(buildQuery({}).toString()).toBe('');
  });
});

describe('API versions', () => {
  it('compares numerically', () => {
    expect(compareApiVersions('1.9', '1.10')).toBeLessThan(0);
    expect(compareApiVersions('1.41', '1.41')).toBe(0);
    expect(compareApiVersions('2.0', '1.99')).toBeGreaterThan(0);
  });

  it('negotiates min(ours, daemon), ours when the daemon does not say, refuses below 1.40', () => {
    expect(negotiateApiVersion('1.41', 'x')).toBe('1.41');
    expect(negotiateApiVersion('1.40', 'x')).toBe('1.40');
    expect(negotiateApiVersion('1.54', 'x')).toBe(MAX_API_VERSION);
    expect(negotiateApiVersion(undefined, 'x')).toBe(MAX_API_VERSION);
    expect(() => negotiateApiVersion('1.39', 'unix:///s')).toThrow(ImgtoolError);
    try {
      negotiateApiVersion('1.39', 'unix:///s');
    } catch (err) {
      expect((err as ImgtoolError).code).toBe('ENGINE_VERSION_UNSUPPORTED');
      expect((err as ImgtoolError).message).toContain('unix:///s');
    }
  });

  it('DOCKER_API_VERSION pins (a leading v is accepted), bad values are usage errors', () => {
    expect(pinnedApiVersion({})).toBeUndefined();
    expect(pinnedApiVersion({ DOCKER_API_VERSION: '' })).toBeUndefined();
    expect(pinnedApiVersion({ DOCKER_API_VERSION: '1.40' })).toBe('1.40');
    expect(pinnedApiVersion({ DOCKER_API_VERSION: 'v1.41' })).toBe('1.41');
    expect(() => pinnedApiVersion({ DOCKER_API_VERSION: 'latest' })).toThrow(/DOCKER_API_VERSION="latest"/);
  });
});

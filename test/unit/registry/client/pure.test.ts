import { describe, expect, it } from 'vitest';
import { formatScope, parseScope, parseScopeParam, scopeKey, scopesCover, unionScopes } from '../../../../src/registry/client/scope.js';
import { codeForStatus, parseRegistryErrorBody, registryError } from '../../../../src/registry/client/registry-errors.js';
import { RetryBudget, isRetryableError, isRetryableStatus, parseRetryAfter } from '../../../../src/registry/client/retry.js';
import { nextLink, parseUploadRange, withDigestParam } from '../../../../src/registry/client/client.js';
import { parseWarnings, redactHeaders, redactUrl } from '../../../../src/registry/client/transport.js';
import { isInsecureRegistry, isCertificateError, isNotTlsError } from '../../../../src/registry/client/tls.js';
import { checkRealm } from '../../../../src/registry/client/token.js';
import { ImgtoolError } from '../../../../src/image/errors.js';

describe('scopes', () => {
  it('parses and formats, keeping names with colons-free paths intact', () => {
    expect(parseScope('repository:team/app:pull,push')).toEqual({ type: 'repository', name: 'team/app', actions: ['pull', 'push'] });
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScope('repository(plugin):a/b:pull')?.type).toBe('repository(plugin)');
    expect(parseScope('nonsense')).toBeUndefined();
    expect(formatScope({ type: 'repository', name: 'a', actions: ['pull', 'push'] })).toBe('repository:a:pull,push');
  });

  it('splits a scope parameter with several scopes', () => {
    expect(parseScopeParam('repository:a:pull  repository:b:push,pull').map(formatScope)).toEqual(['repository:a:pull', 'repository:b:pull,push']);
  });

  it('unions actions per resource and sorts into a stable key', () => {
    const u = unionScopes([{ type: 'repository', name: 'b', actions: ['pull'] }], [{ type: 'repository', name: 'a', actions: ['push'] }, { type: 'repository', name: 'b', actions: ['push', 'pull'] }]);
    expect(u.map(formatScope)).toEqual(['repository:a:push', 'repository:b:pull,push']);
    expect(scopeKey([{ type: 'repository', name: 'x', actions: ['push', 'pull'] }])).toBe(scopeKey([{ type: 'repository', name: 'x', actions: ['pull', 'push'] }]));
    expect(scopesCover(u, [{ type: 'repository', name: 'b', actions: ['push'] }])).toBe(true);
    expect(scopesCover(u, [{ type: 'repository', name: 'a', actions: ['pull'] }])).toBe(false);
  });
});

describe('registry error bodies', () => {
  it('parses the spec shape with detail of any type', () => {
    const e = parseRegistryErrorBody('{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:abc"},{"code":"DENIED","message":"no","detail":{"x":1}}]}');
    expect(e).toEqual([
      { code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:abc' },
      { code: 'DENIED', message: 'no', detail: '{"x":1}' },
    ]);
  });

  it('tolerates HTML, plain text, empty bodies and odd JSON', () => {
    expect(parseRegistryErrorBody('<html><head><title>413 Request Entity Too Large</title></head><body><h1>413 Request Entity Too Large</h1></body></html>')[0]?.message).toContain('413 Request Entity Too Large');
    expect(parseRegistryErrorBody('')).toEqual([]);
    expect(parseRegistryErrorBody('{"message":"boom"}')).toEqual([{ code: 'UNKNOWN', message: 'boom' }]);
    expect(parseRegistryErrorBody('[1,2]')[0]?.code).toBe('UNKNOWN');
    expect(parseRegistryErrorBody('{"errors":[null,3,{"code":5}]}')).toEqual([{ code: 'UNKNOWN', message: '' }]);
  });

  it('maps statuses and registry codes to imgtool codes', () => {
    expect(codeForStatus(401)).toBe('REGISTRY_UNAUTHORIZED');
    expect(codeForStatus(403)).toBe('REGISTRY_DENIED');
    expect(codeForStatus(404)).toBe('REGISTRY_NOT_FOUND');
    expect(codeForStatus(429)).toBe('REGISTRY_RATE_LIMITED');
    expect(codeForStatus(413)).toBe('REGISTRY_TOO_LARGE');
    expect(codeForStatus(412)).toBe('REGISTRY_DENIED');
    expect(codeForStatus(500)).toBe('REGISTRY_ERROR');
    expect(codeForStatus(400, [{ code: 'TOOMANYREQUESTS', message: '' }])).toBe('REGISTRY_RATE_LIMITED');
  });

  it('builds an error naming the operation, the status and each registry error', () => {
    const err = registryError(404, '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"v9"}}]}', {
      registry: 'r.example:5000',
      repository: 'team/app',
      operation: 'GET manifest v9',
    });
    expect(err).toBeInstanceOf(ImgtoolError);
    expect(err.code).toBe('REGISTRY_NOT_FOUND');
    expect(err.message).toBe('GET manifest v9 on r.example:5000/team/app failed: HTTP 404: MANIFEST_UNKNOWN: manifest unknown ({"Tag":"v9"})');
    expect(err.details.status).toBe(404);
  });

  it('puts rate-limit headers into the details', () => {
    const err = registryError(429, '', { registry: 'h', operation: 'x', headers: { 'ratelimit-limit': '100;w=21600', 'retry-after': '30' } });
    expect(err.details['rateLimitLimit']).toBe('100;w=21600');
    expect(err.hint).toContain('30');
  });
});

describe('retry policy', () => {
  it('retries 5xx, 408, 429 but no other 4xx', () => {
    for (const s of [500, 502, 503, 504, 408, 429]) expect(isRetryableStatus(s)).toBe(true);
    for (const s of [400, 401, 403, 404, 405, 412, 413, 416, 501]) expect(isRetryableStatus(s)).toBe(false);
  });

  it('recognises connection errors, including wrapped ones', () => {
    expect(isRetryableError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isRetryableError(new Error('outer', { cause: Object.assign(new Error('inner'), { code: 'UND_ERR_SOCKET' }) }))).toBe(true);
    expect(isRetryableError(Object.assign(new Error('cert'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBe(false);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 01 Jan 2024 00:00:10 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('bounds attempts and total time, with jittered exponential backoff', () => {
    const b = new RetryBudget({ attempts: 3, baseDelayMs: 100, maxDelayMs: 1000, maxTotalMs: 10_000 }, () => 1);
    b.begin();
    expect(b.nextDelay()).toBe(100);
    b.begin();
    expect(b.nextDelay()).toBe(200);
    b.begin();
    expect(b.nextDelay()).toBeUndefined();
    const low = new RetryBudget({ baseDelayMs: 100 }, () => 0);
    low.begin();
    expect(low.nextDelay()).toBe(50);
  });

  it('uses Retry-After instead of backoff, and gives up when it exceeds the time budget', () => {
    const b = new RetryBudget({ attempts: 5, maxTotalMs: 5_000 }, () => 0.5);
    b.begin();
    expect(b.nextDelay(3000)).toBe(3000);
    expect(b.nextDelay(60_000)).toBeUndefined();
  });
});

describe('upload locations, ranges and links', () => {
  it('merges digest= into the Location query without touching the rest', () => {
    const u = withDigestParam(new URL('https://r/v2/a/blobs/uploads/uuid?_state=ab%2Bc%3D%3D&x=1'), 'sha256:00');
    expect(u.search).toBe('?_state=ab%2Bc%3D%3D&x=1&digest=sha256%3A00');
    expect(withDigestParam(new URL('http://r/up/1'), 'sha256:11').search).toBe('?digest=sha256%3A11');
    expect(withDigestParam(new URL('http://r/up/1?digest=old&y=2'), 'sha256:11').search).toBe('?y=2&digest=sha256%3A11');
  });

  it('parses upload Range headers', () => {
    expect(parseUploadRange('0-99')).toBe(100);
    expect(parseUploadRange('bytes=0-0')).toBe(1);
    expect(parseUploadRange('0--1')).toBeUndefined();
    expect(parseUploadRange(undefined)).toBeUndefined();
  });

  it('finds rel="next" in Link headers', () => {
    expect(nextLink({ link: '</v2/a/tags/list?last=b&n=2>; rel="next"' })).toBe('/v2/a/tags/list?last=b&n=2');
    expect(nextLink({ link: '<https://x/prev>; rel="prev", <https://x/next>; rel=next' })).toBe('https://x/next');
    expect(nextLink({ link: '<https://x/p>; rel="prev"' })).toBeUndefined();
    expect(nextLink({})).toBeUndefined();
  });
});

describe('warnings and redaction', () => {
  it('extracts 299 warnings only', () => {
    expect(parseWarnings(['299 - "this API is deprecated"', '199 - "misc"', '299 registry.example "say \\"x\\"", 299 - "two"'])).toEqual([
      'this API is deprecated',
      'say "x"',
      'two',
    ]);
  });

  it('redacts Authorization and secrets in URLs', () => {
    const line = redactHeaders({ authorization: 'Bearer eyJsecret', accept: 'x' });
    expect(line).toBe('authorization: Bearer <redacted>, accept: x');
    expect(redactUrl(new URL('https://u:p@h/x?refresh_token=abc&scope=s'))).toBe('https://h/x?refresh_token=%3Credacted%3E&scope=s');
  });
});

describe('TLS and realm policy', () => {
  it('matches insecure registries by host:port, hostname and CIDR', () => {
    expect(isInsecureRegistry('reg.local:5000', ['reg.local:5000'])).toBe(true);
    expect(isInsecureRegistry('reg.local:5000', ['reg.local'])).toBe(true);
    expect(isInsecureRegistry('reg.local:5000', ['http://reg.local:5000/'])).toBe(true);
    expect(isInsecureRegistry('10.1.2.3:5000', ['10.0.0.0/8'])).toBe(true);
    expect(isInsecureRegistry('11.1.2.3:5000', ['10.0.0.0/8'])).toBe(false);
    expect(isInsecureRegistry('reg.local:5000', [])).toBe(false);
  });

  it('classifies TLS failures', () => {
    expect(isCertificateError(['UNABLE_TO_VERIFY_LEAF_SIGNATURE'])).toBe(true);
    expect(isCertificateError(['ECONNRESET'])).toBe(false);
    expect(isNotTlsError(['EPROTO'], '')).toBe(true);
    expect(isNotTlsError([], 'SSL routines:ssl3_get_record:wrong version number')).toBe(true);
  });

  it('refuses an http realm on a non-loopback host unless the registry is insecure', () => {
    expect(() => checkRealm('http://harbor.example.com/service/token', 'harbor.example.com', false)).toThrowError(/plain http/);
    try {
      checkRealm('http://harbor.example.com/service/token', 'harbor.example.com', false);
    } catch (err) {
      expect((err as ImgtoolError).code).toBe('REGISTRY_INSECURE');
      expect((err as ImgtoolError).hint).toContain('external_url');
    }
    expect(checkRealm('http://harbor.example.com/service/token', 'harbor.example.com', true).protocol).toBe('http:');
    expect(checkRealm('http://127.0.0.1:9/token', 'reg.example.com', false).host).toBe('127.0.0.1:9');
    expect(checkRealm('https://auth.example/token', 'reg', false).protocol).toBe('https:');
    expect(() => checkRealm('ftp://x/token', 'reg', false)).toThrowError(/unsupported scheme/);
  });
});

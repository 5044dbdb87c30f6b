/**
 * Reference parsing, checked against the cases of distribution/reference's own test tables
 * (reference_test.go TestReferenceParse, normalize_test.go TestValidateReferenceName and
 * TestParseRepositoryInfo), as normalised by ParseNormalizedNamed.
 */
import { describe, expect, it } from 'vitest';
import {
  ImgtoolError,
  isLoopbackRegistry,
  normalizeRegistry,
  parseReference,
  parseRepositoryName,
  registryApiHost,
  splitHostPort,
  withDigest,
  withTag,
} from '../../../src/image/index.js';

const D64 = 'f'.repeat(64);
const HEX64 = 'ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';

function reject(input: string): ImgtoolError {
  try {
    parseReference(input);
  } catch (err) {
    expect(err).toBeInstanceOf(ImgtoolError);
    expect((err as ImgtoolError).code).toBe('REFERENCE_INVALID');
    return err as ImgtoolError;
  }
  throw new Error(`expected "${input}" to be rejected`);
}

describe('parseReference: valid references (distribution/reference TestReferenceParse)', () => {
  const cases: Array<[string, string, string, string | undefined, string | undefined]> = [
    // input, registry, repository, tag, digest (tag is the parsed one; 'latest' is added when neither)
    ['test_com', 'docker.io', 'library/test_com', 'latest', undefined],
    ['test.com:tag', 'docker.io', 'library/test.com', 'tag', undefined],
    ['test.com:5000', 'docker.io', 'library/test.com', '5000', undefined],
    ['test.com/repo:tag', 'test.com', 'repo', 'tag', undefined],
    ['test:5000/repo', 'test:5000', 'repo', 'latest', undefined],
    ['test:5000/repo:tag', 'test:5000', 'repo', 'tag', undefined],
    [`test:5000/repo@sha256:${HEX64}`, 'test:5000', 'repo', undefined, `sha256:${HEX64}`],
    [`test:5000/repo:tag@sha256:${HEX64}`, 'test:5000', 'repo', 'tag', `sha256:${HEX64}`],
    ['lowercase:Uppercase', 'docker.io', 'library/lowercase', 'Uppercase', undefined],
    // distribution's 255-character case, with a registry so that normalisation adds nothing
    [`a.b/${'a/'.repeat(125)}a:tag-puts-this-over-max`, 'a.b', `${'a/'.repeat(125)}a`, 'tag-puts-this-over-max', undefined],
    ['sub-dom1.foo.com/bar/baz/quux', 'sub-dom1.foo.com', 'bar/baz/quux', 'latest', undefined],
    ['sub-dom1.foo.com/bar/baz/quux:some-long-tag', 'sub-dom1.foo.com', 'bar/baz/quux', 'some-long-tag', undefined],
    ['b.gcr.io/test.example.com/my-app:test.example.com', 'b.gcr.io', 'test.example.com/my-app', 'test.example.com', undefined],
    ['xn--n3h.com/myimage:xn--n3h.com', 'xn--n3h.com', 'myimage', 'xn--n3h.com', undefined],
    [`xn--7o8h.com/myimage:xn--7o8h.com@sha512:${'f'.repeat(128)}`, 'xn--7o8h.com', 'myimage', 'xn--7o8h.com', `sha512:${'f'.repeat(128)}`],
    ['foo_bar.com:8080', 'docker.io', 'library/foo_bar.com', '8080', undefined],
    ['foo/foo_bar.com:8080', 'docker.io', 'foo/foo_bar.com', '8080', undefined],
    ['192.168.1.1', 'docker.io', 'library/192.168.1.1', 'latest', undefined],
    ['192.168.1.1:tag', 'docker.io', 'library/192.168.1.1', 'tag', undefined],
    ['192.168.1.1:5000', 'docker.io', 'library/192.168.1.1', '5000', undefined],
    ['192.168.1.1/repo', '192.168.1.1', 'repo', 'latest', undefined],
    ['192.168.1.1:5000/repo', '192.168.1.1:5000', 'repo', 'latest', undefined],
    ['[2001:db8::1]/repo', '[2001:db8::1]', 'repo', 'latest', undefined],
    ['[2001:db8:1:2:3:4:5:6]/repo:tag', '[2001:db8:1:2:3:4:5:6]', 'repo', 'tag', undefined],
    ['[2001:db8::1]:5000/repo', '[2001:db8::1]:5000', 'repo', 'latest', undefined],
    ['[2001:db8::1]:5000/repo:tag', '[2001:db8::1]:5000', 'repo', 'tag', undefined],
    [`[2001:db8::1]:5000/repo@sha256:${HEX64}`, '[2001:db8::1]:5000', 'repo', undefined, `sha256:${HEX64}`],
    [`[2001:db8::1]:5000/repo:tag@sha256:${HEX64}`, '[2001:db8::1]:5000', 'repo', 'tag', `sha256:${HEX64}`],
    ['[2001:db8::]:5000/repo', '[2001:db8::]:5000', 'repo', 'latest', undefined],
    ['[::1]:5000/repo', '[::1]:5000', 'repo', 'latest', undefined],
  ];
  it.each(cases)('%s', (input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect(ref.registry).toBe(registry);
    expect(ref.repository).toBe(repository);
    expect(ref.tag).toBe(tag);
    expect(ref.digest).toBe(digest);
  });
});

describe('parseReference: invalid references (TestReferenceParse error cases)', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    [':justtag', /repository name before ":"/],
    [`@sha256:${HEX64}`, /repository name before "@"/],
    ['repo@sha256:ffffffffffffffffffffffffffffffffff', /64 hex digits/],
    [`validname@invaliddigest:${HEX64}`, /algorithm "invaliddigest" is not supported/],
    ['Uppercase:tag', /repository name must be lowercase/],
    ['test:5000/Uppercase/lowercase:tag', /repository name must be lowercase/],
    [`${'a/'.repeat(128)}a:tag`, /must not be more than 255 characters/],
    // 255 characters as typed, but normalisation adds "docker.io/" as ParseNormalizedNamed does
    [`${'a/'.repeat(127)}a:tag-puts-this-over-max`, /must not be more than 255 characters/],
    ['aa/asdf$$^/aa', /path component "asdf\$\$\^" is invalid/],
    ['[2001:db8::1]', /tag "1\]" is invalid/],
    ['[2001:db8::1]:5000', /path component "\[2001:db8::1\]" is invalid/],
    ['[2001:db8::1]:tag', /path component/],
    ['[fe80::1%eth0]:5000/repo', /registry "\[fe80::1%eth0\]:5000" is not a valid host/],
    ['[fe80::1%@invalidzone]:5000/repo', /digest|registry/],
    ['repo:-tag', /tag "-tag" is invalid/],
    [`repo:${'a'.repeat(129)}`, /tag "a+" is invalid/],
    [`repo@sha256:${HEX64.toUpperCase()}`, /lowercase hex/],
  ];
  it.each(cases)('%s', (input, message) => {
    expect(reject(input).message).toMatch(message);
  });
});

describe('normalisation (normalize_test.go TestValidateReferenceName / TestParseRepositoryInfo)', () => {
  const invalidNames = [
    'https://github.com/docker/docker',
    'docker/Docker',
    '-docker',
    '-docker/docker',
    '-docker.io/docker/docker',
    'docker///docker',
    'docker.io/docker/Docker',
    'docker.io/docker///docker',
    '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a',
  ];
  it.each(invalidNames)('rejects %s', (input) => {
    reject(input);
  });

  const validNames = [
    'library/ubuntu',
    'docker/docker',
    'docker.io/docker/docker',
    'docker.io/library/debian',
    'debian',
    'localhost/library/debian',
    'localhost/debian',
    '127.0.0.1:5000/library/debian',
    '127.0.0.1:5000/debian',
    '192.168.0.1',
    '192.168.0.1:80',
    '192.168.0.1:8/debian',
    '192.168.0.2:25000/debian',
    'thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev',
    'docker-rules/docker',
    'match-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    '1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3',
    'foo.bar/a__b/c--d/e_f.g',
  ];
  it.each(validNames)('accepts %s', (input) => {
    expect(() => parseReference(input)).not.toThrow();
  });

  const repoInfo: Array<[string, string, string, string]> = [
    // input, familiar name, full name, registry
    ['fooo/bar', 'fooo/bar', 'docker.io/fooo/bar', 'docker.io'],
    ['library/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'docker.io'],
    ['nonlibrary/ubuntu', 'nonlibrary/ubuntu', 'docker.io/nonlibrary/ubuntu', 'docker.io'],
    ['ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'docker.io'],
    ['docker.io/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'docker.io'],
    ['docker.io/library/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'docker.io'],
    ['docker.io/nonlibrary/ubuntu', 'nonlibrary/ubuntu', 'docker.io/nonlibrary/ubuntu', 'docker.io'],
    ['index.docker.io/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'docker.io'],
    ['index.docker.io/library/ubuntu', 'ubuntu', 'docker.io/library/ubuntu', 'docker.io'],
    ['127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', '127.0.0.1:8000/private/moonbase', '127.0.0.1:8000'],
    ['127.0.0.1:8000/privatebase', '127.0.0.1:8000/privatebase', '127.0.0.1:8000/privatebase', '127.0.0.1:8000'],
    ['example.com/private/moonbase', 'example.com/private/moonbase', 'example.com/private/moonbase', 'example.com'],
    ['example.com:8000/privatebase', 'example.com:8000/privatebase', 'example.com:8000/privatebase', 'example.com:8000'],
    ['localhost:8000/private/moonbase', 'localhost:8000/private/moonbase', 'localhost:8000/private/moonbase', 'localhost:8000'],
    ['localhost/privatebase', 'localhost/privatebase', 'localhost/privatebase', 'localhost'],
    ['ubuntu-12.04-base', 'ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base', 'docker.io'],
    ['docker.io/ubuntu-12.04-base', 'ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base', 'docker.io'],
    ['index.docker.io/ubuntu-12.04-base', 'ubuntu-12.04-base', 'docker.io/library/ubuntu-12.04-base', 'docker.io'],
    ['library/a/b', 'library/a/b', 'docker.io/library/a/b', 'docker.io'],
  ];
  it.each(repoInfo)('%s', (input, familiar, full, registry) => {
    const ref = parseReference(input);
    expect(ref.familiarName).toBe(familiar);
    expect(ref.name).toBe(full);
    expect(ref.registry).toBe(registry);
  });

  it('app -> docker.io/library/app:latest, familiar app:latest', () => {
    const ref = parseReference('app');
    expect(ref.toString()).toBe('docker.io/library/app:latest');
    expect(ref.familiar).toBe('app:latest');
    expect(String(ref)).toBe('docker.io/library/app:latest');
    expect(JSON.stringify({ ref })).toBe('{"ref":"docker.io/library/app:latest"}');
    expect(ref.isDockerHub).toBe(true);
  });

  it('a digest without a tag gets no default tag', () => {
    const ref = parseReference(`app@sha256:${D64}`);
    expect(ref.toString()).toBe(`docker.io/library/app@sha256:${D64}`);
    expect(ref.familiar).toBe(`app@sha256:${D64}`);
  });

  it('defaultTag: false keeps the reference untagged', () => {
    expect(parseReference('user/app', { defaultTag: false }).toString()).toBe('docker.io/user/app');
    expect(parseReference('user/app', { defaultTag: 'dev' }).toString()).toBe('docker.io/user/app:dev');
  });

  it('an uppercase first component is taken as a host (it cannot be a path)', () => {
    const ref = parseReference('Example.com/app');
    expect(ref.registry).toBe('Example.com');
    expect(ref.repository).toBe('app');
  });

  it('a URL scheme is explained', () => {
    const err = reject('https://registry.example.com/app');
    expect(err.message).toMatch(/no URL scheme/);
    expect(err.hint).toMatch(/registry\.example\.com\/app/);
  });

  it('an uppercase repository suggests the lowercase name', () => {
    const err = reject('registry.example.com/Team/App:1');
    expect(err.message).toMatch(/repository name must be lowercase/);
    expect(err.hint).toBe('use "team"');
  });

  it('a 255-character name is the maximum, counting the registry', () => {
    const path = 'a'.repeat(255 - 'docker.io/library/'.length);
    expect(parseReference(path).name.length).toBe(255);
    expect(reject(`${path}b`).message).toMatch(/255/);
  });
});

describe('helpers', () => {
  it('parseRepositoryName refuses tags and digests', () => {
    expect(parseRepositoryName('app').toString()).toBe('docker.io/library/app');
    expect(() => parseRepositoryName('app:1')).toThrow(/without a tag/);
  });

  it('withTag replaces tag and drops digest; validates', () => {
    const ref = parseReference(`h:5000/a/b:1@sha256:${D64}`);
    expect(withTag(ref, 'v2').toString()).toBe('h:5000/a/b:v2');
    expect(() => withTag(ref, '.bad')).toThrow(ImgtoolError);
  });

  it('withDigest pins and validates', () => {
    const ref = parseReference('h:5000/a/b:1');
    expect(withDigest(ref, `sha256:${D64}`).toString()).toBe(`h:5000/a/b:1@sha256:${D64}`);
    expect(() => withDigest(ref, 'sha256:abc')).toThrow(/64 hex digits/);
  });

  it('registryApiHost maps Docker Hub to registry-1.docker.io', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('index.docker.io')).toBe('registry-1.docker.io');
    expect(registryApiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });

  it('normalizeRegistry strips scheme and path and maps Hub aliases', () => {
    expect(normalizeRegistry('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeRegistry('http://localhost:5000/v2/')).toBe('localhost:5000');
    expect(normalizeRegistry('harbor.example.com')).toBe('harbor.example.com');
  });

  it('isLoopbackRegistry', () => {
    expect(isLoopbackRegistry('localhost')).toBe(true);
    expect(isLoopbackRegistry('localhost:5000')).toBe(true);
    expect(isLoopbackRegistry('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackRegistry('127.1.2.3')).toBe(true);
    expect(isLoopbackRegistry('[::1]:5000')).toBe(true);
    expect(isLoopbackRegistry('::1')).toBe(true);
    expect(isLoopbackRegistry('10.0.0.1:5000')).toBe(false);
    expect(isLoopbackRegistry('docker.io')).toBe(false);
    expect(isLoopbackRegistry('127.0.0.1.example.com')).toBe(false);
  });

  it('splitHostPort', () => {
    expect(splitHostPort('h:5000')).toEqual({ hostname: 'h', port: 5000 });
    expect(splitHostPort('[::1]:5000')).toEqual({ hostname: '[::1]', port: 5000 });
    expect(splitHostPort('h')).toEqual({ hostname: 'h' });
  });
});

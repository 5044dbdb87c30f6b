/**
 * The pure parts of engine push/pull: folding the JSON message stream into per-layer
 * progress, reading the pushed digest from the status line or aux, and turning the engine's
 * flattened registry errors back into statuses and hints.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseReference } from '../../../src/image/reference.js';
import { engineFailureHint, LayerProgress, pushedTagOf, statusOfStreamMessage } from '../../../src/registry/engine-ops/index.js';
import { createProgressView } from '../../../src/cli/layer-progress.js';
import type { CliRuntime } from '../../../src/cli/runtime.js';

const D = `sha256:${'a'.repeat(64)}`;

describe('pushedTagOf', () => {
  it('reads "<tag>: digest: sha256:... size: N" (graphdriver and containerd stores)', () => {
    expect(pushedTagOf({ status: `1.0: digest: ${D} size: 1150` })).toEqual({ tag: '1.0', digest: D, size: 1150 });
    expect(pushedTagOf({ status: `latest: digest: ${D} size: 528`, id: 'latest' })).toEqual({ tag: 'latest', digest: D, size: 528 });
  });
  it('reads aux {Tag, Digest, Size}', () => {
    expect(pushedTagOf({ aux: { Tag: 'v1', Digest: D, Size: 9 } })).toEqual({ tag: 'v1', digest: D, size: 9 });
  });
  it('ignores layer lines', () => {
    expect(pushedTagOf({ status: 'Pushed', id: 'abc' })).toBeUndefined();
    expect(pushedTagOf({ status: 'The push refers to repository [h/x]' })).toBeUndefined();
  });
});

describe('LayerProgress', () => {
  it('tracks layers in order, byte counts, done states; operation lines are status events', () => {
    const p = new LayerProgress();
    expect(p.update({ status: 'The push refers to repository [h:1/a]' })).toEqual({ kind: 'status', message: 'The push refers to repository [h:1/a]' });
    expect(p.update({ status: 'Preparing', id: 'l1' })).toMatchObject({ kind: 'layer', statusChanged: true });
    p.update({ status: 'Preparing', id: 'l2' });
    expect(p.update({ status: 'Pushing', id: 'l1', progressDetail: { current: 50, total: 100 } })).toMatchObject({ statusChanged: true });
    expect(p.update({ status: 'Pushing', id: 'l1', progressDetail: { current: 80, total: 100 } })).toMatchObject({ statusChanged: false });
    p.update({ status: 'Pushed', id: 'l1', progressDetail: {} });
    p.update({ status: 'Layer already exists', id: 'l2' });
    expect(p.summary()).toEqual({ layers: 2, done: 2, current: 100, total: 100 });
    expect(p.update({ status: `1: digest: ${D} size: 1`, id: '1' })).toMatchObject({ kind: 'status' });
    expect(p.update({ status: 'Pulling from team/app', id: '1' })).toEqual({ kind: 'status', message: '1: Pulling from team/app' });
    expect(p.update({ status: 'Mounted from other/repo', id: 'l3' })).toMatchObject({ layer: { done: true } });
    expect(p.layers().map((l) => l.id)).toEqual(['l1', 'l2', 'l3']);
  });
});

describe('engine error texts', () => {
  it('statuses recovered from registry error codes in the text', () => {
    expect(statusOfStreamMessage('unauthorized: authentication required')).toBe(401);
    expect(statusOfStreamMessage('no basic auth credentials')).toBe(401);
    expect(statusOfStreamMessage('denied: requested access to the resource is denied')).toBe(403);
    expect(statusOfStreamMessage('denied: adding 12 MiB of storage resource, which exceeds quota')).toBe(403);
    expect(statusOfStreamMessage('toomanyrequests: You have reached your pull rate limit')).toBe(429);
    expect(statusOfStreamMessage('unknown: The tag v1 is immutable, cannot be overwritten')).toBe(412);
    expect(statusOfStreamMessage('connection refused')).toBeUndefined();
  });

  it('hints: library/ pushes on Docker Hub, logins, 413, plain HTTP', () => {
    const hub = parseReference('app:1');
    expect(engineFailureHint('push', hub, 'denied: requested access to the resource is denied', { kind: 'file', key: 'k', path: '/c.json' })).toMatch(/reserved for Docker's official images: push to .*\/app/);
    const h = parseReference('h:5000/t/app:1');
    expect(engineFailureHint('push', h, 'no basic auth credentials', undefined)).toBe('no credentials for h:5000 were found: run "imgtool login h:5000" first');
    expect(engineFailureHint('push', h, 'unauthorized: authentication required', { kind: 'helper', key: 'h:5000', helper: 'docker-credential-pass' })).toMatch(/rejected the credentials from docker-credential-pass/);
    expect(engineFailureHint('push', h, 'received unexpected HTTP status: 413 Request Entity Too Large', undefined)).toMatch(/--chunk-size/);
    expect(engineFailureHint('pull', h, 'http: server gave HTTP response to HTTPS client', undefined)).toMatch(/insecure-registries/);
    expect(engineFailureHint('pull', h, 'something else entirely', undefined)).toBeUndefined();
  });
});

describe('progress display', () => {
  function runtime(tty: boolean): { rt: CliRuntime; err: () => string } {
    const stderr = new PassThrough();
    let text = '';
    stderr.on('data', (c: Buffer) => (text += c.toString()));
    const rt = {
      stdout: new PassThrough(),
      stderr,
      stdin: new PassThrough(),
      env: {},
      cwd: '/',
      signal: new AbortController().signal,
      stdoutIsTTY: tty,
      stderrIsTTY: tty,
      globals: () => ({ debug: false, tls: false, tlsverify: false }),
    } satisfies CliRuntime;
    return { rt, err: () => text };
  }

  it('plain mode prints one line per status change, not per byte update', async () => {
    const { rt, err } = runtime(false);
    const view = await createProgressView(rt, 'Pushing x');
    const p = new LayerProgress();
    for (const m of [
      { status: 'Pushing', id: 'l1', progressDetail: { current: 1, total: 10 } },
      { status: 'Pushing', id: 'l1', progressDetail: { current: 5, total: 10 } },
      { status: 'Pushed', id: 'l1' },
    ]) {
      const e = p.update(m);
      if (e) view.onProgress(e, p);
    }
    view.end(true, 'done');
    expect(err()).toBe('Pushing x\nl1: Pushing\nl1: Pushed\ndone\n');
  });

  it('a terminal gets the ora spinner, ending with the final line', async () => {
    const { rt, err } = runtime(true);
    const view = await createProgressView(rt, 'Pushing x');
    const p = new LayerProgress();
    const e = p.update({ status: 'Pushed', id: 'l1' });
    if (e) view.onProgress(e, p);
    view.end(true, 'Pushed x sha256:abc');
    expect(err()).toContain('Pushed x sha256:abc');
    expect(err()).not.toContain('l1: Pushed');
  });
});

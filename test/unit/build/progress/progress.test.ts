/**
 * BuildKit trace decoding and step tracking. Trace payloads are encoded here with
 * @bufbuild/protobuf's BinaryWriter following control.proto's field numbers (the daemon's own
 * traces are decoded in the integration tests).
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeStatusResponse } from '../../../../src/build/progress/buildkit.js';
import { PlainRenderer } from '../../../../src/build/progress/render.js';
import { BuildProgressTracker, type ProgressEvent } from '../../../../src/build/progress/tracker.js';

function timestamp(w: BinaryWriter, field: number, ms: number): void {
  w.tag(field, 2).fork().tag(1, 0).int64(Math.floor(ms / 1000)).tag(2, 0).int32((ms % 1000) * 1e6).join();
}

interface V {
  digest: string;
  name: string;
  cached?: boolean;
  started?: number;
  completed?: number;
  error?: string;
}

function statusResponse(opts: { vertexes?: V[]; logs?: { vertex: string; msg: string; stream?: number }[]; warnings?: string[]; unknown?: boolean }): Uint8Array {
  const w = new BinaryWriter();
  for (const v of opts.vertexes ?? []) {
    const m = w.tag(1, 2).fork();
    m.tag(1, 2).string(v.digest).tag(2, 2).string('sha256:input').tag(3, 2).string(v.name);
    if (v.cached) m.tag(4, 0).bool(true);
    if (v.started !== undefined) timestamp(m, 5, v.started);
    if (v.completed !== undefined) timestamp(m, 6, v.completed);
    if (v.error !== undefined) m.tag(7, 2).string(v.error);
    // A field this decoder does not know (progressGroup) must be skipped.
    m.tag(8, 2).fork().tag(1, 2).string('group').join();
    m.join();
  }
  for (const l of opts.logs ?? []) {
    w.tag(3, 2).fork().tag(1, 2).string(l.vertex).tag(3, 0).int64(l.stream ?? 1).tag(4, 2).bytes(new TextEncoder().encode(l.msg)).join();
  }
  for (const s of opts.warnings ?? []) {
    w.tag(4, 2).fork().tag(1, 2).string('sha256:v').tag(2, 0).int64(1).tag(3, 2).bytes(new TextEncoder().encode(s)).join();
  }
  w.tag(2, 2).fork().tag(1, 2).string('pull').tag(2, 2).string('sha256:v').tag(4, 0).int64(5).tag(5, 0).int64(10).join();
  if (opts.unknown) w.tag(99, 0).uint32(7);
  return w.finish();
}

const trace = (bytes: Uint8Array) => ({ id: 'moby.buildkit.trace', aux: Buffer.from(bytes).toString('base64') });

describe('decodeStatusResponse', () => {
  it('reads vertexes, statuses, logs and warnings by field number, skipping unknown fields', () => {
    const decoded = decodeStatusResponse(
      statusResponse({
        vertexes: [{ digest: 'sha256:a', name: '[1/2] FROM base', cached: true, started: 1_700_000_000_250, completed: 1_700_000_001_500 }],
        logs: [{ vertex: 'sha256:a', msg: 'hello\n', stream: 2 }],
        warnings: ['something odd'],
        unknown: true,
      }),
    );
    expect(decoded.vertexes).toEqual([
      { digest: 'sha256:a', inputs: ['sha256:input'], name: '[1/2] FROM base', cached: true, started: 1_700_000_000_250, completed: 1_700_000_001_500 },
    ]);
    expect(decoded.statuses).toEqual([{ id: 'pull', vertex: 'sha256:v', name: '', current: 5, total: 10 }]);
    expect(decoded.logs.map((l) => [l.vertex, l.stream, Buffer.from(l.data).toString()])).toEqual([['sha256:a', 2, 'hello\n']]);
    expect(decoded.warnings[0]?.short).toBe('something odd');
  });
});

describe('BuildProgressTracker (BuildKit)', () => {
  it('turns traces into steps, cache hits, output lines and the image id', () => {
    const t = new BuildProgressTracker();
    const events: ProgressEvent[] = [];
    events.push(...t.push(trace(statusResponse({ vertexes: [{ digest: 'sha256:1', name: '[1/2] FROM base', cached: true }] }))));
    events.push(...t.push(trace(statusResponse({ vertexes: [{ digest: 'sha256:2', name: '[2/2] RUN make', started: 1000 }] }))));
    events.push(...t.push(trace(statusResponse({ logs: [{ vertex: 'sha256:2', msg: 'line one\nline ' }] }))));
    events.push(...t.push(trace(statusResponse({ logs: [{ vertex: 'sha256:2', msg: 'two\n' }] }))));
    events.push(...t.push(trace(statusResponse({ vertexes: [{ digest: 'sha256:2', name: '[2/2] RUN make', started: 1000, completed: 2500 }] }))));
    events.push(...t.push({ id: 'moby.image.id', aux: { ID: 'sha256:feed' } }));
    expect(events).toEqual([
      { type: 'step-start', step: 1, name: '[1/2] FROM base' },
      { type: 'step-done', step: 1, name: '[1/2] FROM base', cached: true },
      { type: 'step-start', step: 2, name: '[2/2] RUN make' },
      { type: 'output', step: 2, text: 'line one' },
      { type: 'output', step: 2, text: 'line two' },
      { type: 'step-done', step: 2, name: '[2/2] RUN make', cached: false, ms: 1500 },
      { type: 'image', id: 'sha256:feed' },
    ]);
    expect(t.imageId).toBe('sha256:feed');
  });

  it('reports the failing vertex and its last output lines', () => {
    const t = new BuildProgressTracker({ tailLines: 2 });
    t.push(trace(statusResponse({ vertexes: [{ digest: 'sha256:x', name: '[2/3] RUN ./test.sh', started: 1 }] })));
    t.push(trace(statusResponse({ logs: [{ vertex: 'sha256:x', msg: 'a\nb\nc\nno newline at end' }] })));
    const ev = t.push(trace(statusResponse({ vertexes: [{ digest: 'sha256:x', name: '[2/3] RUN ./test.sh', started: 1, error: 'exit code: 1' }] })));
    expect(ev).toContainEqual({ type: 'step-error', step: 1, name: '[2/3] RUN ./test.sh', error: 'exit code: 1' });
    expect(t.failure()).toEqual({ step: '[2/3] RUN ./test.sh', tail: ['c', 'no newline at end'] });
  });
});

describe('BuildProgressTracker (classic)', () => {
  it('reads Step lines, cache hits, output, and takes the last aux ID', () => {
    const t = new BuildProgressTracker();
    const events: ProgressEvent[] = [];
    const stream = (s: string) => events.push(...t.push({ stream: s }));
    stream('Step 1/3 : FROM base\n');
    stream(' ---> 0123456789ab\n');
    stream('Step 2/3 : COPY a /a\n ---> Using cache\n ---> 1123456789ab\n');
    stream('Step 3/3 : RUN echo hi\n');
    stream(' ---> Running in 9999aaaa0000\n');
    stream('hi\n');
    stream('Removing intermediate container 9999aaaa0000\n ---> 2123456789ab\n');
    events.push(...t.push({ aux: { ID: 'sha256:first' } }));
    events.push(...t.push({ aux: { ID: 'sha256:last' } }));
    stream('Successfully built 2123456789ab\n');
    expect(events).toEqual([
      { type: 'step-start', step: 1, name: '[1/3] FROM base' },
      { type: 'step-done', step: 1, name: '[1/3] FROM base', cached: false },
      { type: 'step-start', step: 2, name: '[2/3] COPY a /a' },
      { type: 'step-done', step: 2, name: '[2/3] COPY a /a', cached: true },
      { type: 'step-start', step: 3, name: '[3/3] RUN echo hi' },
      { type: 'output', step: 3, text: 'hi' },
      { type: 'step-done', step: 3, name: '[3/3] RUN echo hi', cached: false },
      { type: 'image', id: 'sha256:first' },
      { type: 'image', id: 'sha256:last' },
    ]);
    expect(t.imageId).toBe('sha256:last');
  });

  it('names the running step on failure', () => {
    const t = new BuildProgressTracker();
    t.push({ stream: 'Step 2/2 : RUN false\n ---> Running in 0a0a0a0a0a0a\noops\n' });
    expect(t.failure()).toEqual({ step: '[2/2] RUN false', tail: ['oops'] });
  });
});

describe('PlainRenderer', () => {
  it('prints one line per event', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const r = new PlainRenderer(out);
    r.event({ type: 'step-start', step: 1, name: '[1/1] RUN x' });
    r.event({ type: 'output', step: 1, text: 'hello' });
    r.event({ type: 'step-done', step: 1, name: '[1/1] RUN x', cached: false, ms: 1234 });
    expect(text).toBe('#1 [1/1] RUN x\n#1 hello\n#1 DONE 1.2s\n');
  });
});

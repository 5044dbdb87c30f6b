import { describe, expect, it } from 'vitest';
import { ImgtoolError } from '../../../src/image/errors.js';
import { readJsonMessages } from '../../../src/engine/json-stream.js';
import type { JsonMessage } from '../../../src/engine/types.js';

const enc = new TextEncoder();

/** A body that yields `chunks` in order, then optionally fails (a reset connection). */
async function* body(chunks: Uint8Array[], failWith?: Error): AsyncGenerator<Uint8Array> {
  for (const c of chunks) {
    await Promise.resolve();
    yield c;
  }
  if (failWith) throw failWith;
}

/** Splits bytes at the given offsets. */
function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const sorted = [...new Set(cuts)].filter((c) => c > 0 && c < bytes.length).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of sorted) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

/** Deterministic PRNG so a failure can be reproduced from the seed in the test name. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function collect(it: AsyncIterable<JsonMessage>): Promise<{ messages: JsonMessage[]; error: unknown }> {
  const messages: JsonMessage[] = [];
  try {
    for await (const m of it) messages.push(m);
    return { messages, error: undefined };
  } catch (error) {
    return { messages, error };
  }
}

const SAMPLE: JsonMessage[] = [
  { stream: 'Step 1/2 : FROM imgtool-test/busybox:1.0\n' },
  { stream: ' ---> 0123456789ab\n' },
  { status: 'Pushing', id: 'abc123', progressDetail: { current: 512, total: 1024 }, progress: '[=====>     ]' },
  { stream: 'text with braces { } and "quotes" and \\ backslashes and \u00e9\u4e2d\ud83d\ude00 and }{ inside\r\n' },
  { aux: { ID: 'sha256:' + 'f'.repeat(64) } },
  { id: 'moby.buildkit.trace', aux: 'Cg' + 'A'.repeat(3000) + '==' },
  { status: 'latest: digest: sha256:' + 'a'.repeat(64) + ' size: 528' },
];

describe('readJsonMessages', () => {
  it('decodes \\r\\n-separated messages (the daemon format)', async () => {
    const text = SAMPLE.map((m) => JSON.stringify(m) + '\r\n').join('');
    const { messages, error } = await collect(readJsonMessages(body([enc.encode(text)])));
    expect(error).toBeUndefined();
    expect(messages).toEqual(SAMPLE);
  });

  it('decodes \\n separators, blank lines, and objects concatenated without separators', async () => {
    const [a, b, c] = SAMPLE.map((m) => JSON.stringify(m));
    const text = `\n\n${a}\n\r\n  \t${b}${c}\n\n`;
    const { messages, error } = await collect(readJsonMessages(body([enc.encode(text)])));
    expect(error).toBeUndefined();
    expect(messages).toEqual(SAMPLE.slice(0, 3));
  });

  it('decodes the same messages however the bytes are split (random split points, incl. inside UTF-8 sequences)', async () => {
    const text = SAMPLE.map((m, i) => JSON.stringify(m) + (i % 3 === 0 ? '\r\n' : i % 3 === 1 ? '\n' : '')).join('');
    const bytes = enc.encode(text);
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 40);
      const cuts = Array.from({ length: n }, () => Math.floor(r() * bytes.length));
      const { messages, error } = await collect(readJsonMessages(body(splitAt(bytes, cuts))));
      expect(error, `seed ${seed}`).toBeUndefined();
      expect(messages, `seed ${seed}`).toEqual(SAMPLE);
    }
  });

  it('decodes a stream delivered one byte at a time', async () => {
    const bytes = enc.encode(SAMPLE.map((m) => JSON.stringify(m) + '\r\n').join(''));
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    const { messages } = await collect(readJsonMessages(body(chunks)));
    expect(messages).toEqual(SAMPLE);
  });

  it('throws ENGINE_STREAM with errorDetail.code after yielding everything before the error line', async () => {
    const lines = [
      { stream: 'Step 1/2 : FROM imgtool-test/busybox:1.0\n' },
      { stream: 'Step 2/2 : RUN exit 3\n' },
      { errorDetail: { code: 3, message: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" }, error: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" },
      { stream: 'never seen\n' },
    ];
    const bytes = enc.encode(lines.map((m) => JSON.stringify(m) + '\r\n').join(''));
    for (let seed = 1; seed <= 50; seed++) {
      const r = rng(seed);
      const cuts = Array.from({ length: 5 }, () => Math.floor(r() * bytes.length));
      const { messages, error } = await collect(readJsonMessages(body(splitAt(bytes, cuts))));
      expect(messages).toEqual(lines.slice(0, 2));
      expect(error).toBeInstanceOf(ImgtoolError);
      expect((error as ImgtoolError).code).toBe('ENGINE_STREAM');
      expect((error as ImgtoolError).message).toBe("The command '/bin/sh -c exit 3' returned a non-zero code: 3");
      expect((error as ImgtoolError).details['code']).toBe(3);
    }
  });

  it('treats a legacy `error` string alone as a failure', async () => {
    const text = '{"status":"Preparing"}\r\n{"error":"denied: requested access to the resource is denied"}\r\n';
    const { messages, error } = await collect(readJsonMessages(body([enc.encode(text)])));
    expect(messages).toEqual([{ status: 'Preparing' }]);
    expect((error as ImgtoolError).code).toBe('ENGINE_STREAM');
    expect((error as ImgtoolError).message).toBe('denied: requested access to the resource is denied');
    expect((error as ImgtoolError).details['code']).toBeUndefined();
  });

  it('treats errorDetail without a message as a failure too', async () => {
    const { error } = await collect(readJsonMessages(body([enc.encode('{"errorDetail":{}}')])));
    expect((error as ImgtoolError).code).toBe('ENGINE_STREAM');
  });

  it('does not treat an empty error string or a null errorDetail as failure', async () => {
    const text = '{"status":"ok","error":"","errorDetail":null}\n';
    const { messages, error } = await collect(readJsonMessages(body([enc.encode(text)])));
    expect(error).toBeUndefined();
    expect(messages).toHaveLength(1);
  });

  it('fails when the body ends inside a message (a cut connection is not success)', async () => {
    const text = '{"stream":"Step 1/2\\n"}\r\n{"stream":"Step 2/';
    const { messages, error } = await collect(readJsonMessages(body([enc.encode(text)])));
    expect(messages).toEqual([{ stream: 'Step 1/2\n' }]);
    expect((error as ImgtoolError).code).toBe('ENGINE_STREAM');
    expect((error as ImgtoolError).message).toMatch(/ended in the middle of a message/);
  });

  it('fails when reading the body fails (connection reset), after yielding complete messages', async () => {
    const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const { messages, error } = await collect(readJsonMessages(body([enc.encode('{"status":"Pushing"}\r\n')], reset)));
    expect(messages).toEqual([{ status: 'Pushing' }]);
    expect((error as ImgtoolError).code).toBe('ENGINE_STREAM');
    expect((error as ImgtoolError).cause).toBe(reset);
  });

  it('rejects data that is not a JSON object', async () => {
    const { error } = await collect(readJsonMessages(body([enc.encode('{"a":1}\nnot json\n')])));
    expect((error as ImgtoolError).code).toBe('ENGINE_STREAM');
    expect((error as ImgtoolError).message).toMatch(/not a JSON message/);
  });

  it('rejects a malformed object', async () => {
    const { error } = await collect(readJsonMessages(body([enc.encode('{"a":tru}\n')])));
    expect((error as ImgtoolError).code).toBe('ENGINE_STREAM');
    expect((error as ImgtoolError).message).toMatch(/malformed/);
  });

  it('finishes only when the body ends: an empty body yields nothing and succeeds', async () => {
    const { messages, error } = await collect(readJsonMessages(body([])));
    expect(messages).toEqual([]);
    expect(error).toBeUndefined();
  });

  it('throws ABORTED when the signal fires, and closes the body', async () => {
    const ac = new AbortController();
    let closed = false;
    async function* endless(): AsyncGenerator<Uint8Array> {
      try {
        for (;;) {
          await Promise.resolve();
          yield enc.encode('{"status":"x"}\r\n');
        }
      } finally {
        closed = true;
      }
    }
    let n = 0;
    const { error } = await collect(
      (async function* () {
        for await (const m of readJsonMessages(endless(), ac.signal)) {
          if (++n === 3) ac.abort();
          yield m;
        }
      })(),
    );
    expect((error as ImgtoolError).code).toBe('ABORTED');
    expect(closed).toBe(true);
  });

  it('closes the body when the consumer stops early', async () => {
    let closed = false;
    async function* src(): AsyncGenerator<Uint8Array> {
      try {
        yield enc.encode('{"a":1}\n{"a":2}\n');
        yield enc.encode('{"a":3}\n');
      } finally {
        closed = true;
      }
    }
    for await (const m of readJsonMessages(src())) {
      expect(m).toEqual({ a: 1 });
      break;
    }
    expect(closed).toBe(true);
  });
});

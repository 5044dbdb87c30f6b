/**
 * Fuzzing the engine's JSON message stream decoder `readJsonMessages` (issue 7): real-shaped
 * build/push/pull streams split at random points, with garbage lines, huge lines, truncation,
 * broken UTF-8 and bodies that fail mid-way. Every case must end in the messages or an
 * ImgtoolError; an untouched stream must decode to exactly the messages that were sent.
 */
import { describe, expect, it } from 'vitest';
import { readJsonMessages } from '../../../src/engine/json-stream.js';
import { fuzz, nastyText, randomSplit, type Rng, isReplay } from './support.js';

const SAMPLES: readonly object[] = [
  { stream: 'Step 1/3 : FROM busybox\n' },
  { stream: ' ---> 1c35c4412082\n' },
  { status: 'Pushing', progressDetail: { current: 512, total: 2048 }, progress: '[==>   ]', id: 'a1b2c3' },
  { status: 'Pushed', progressDetail: {}, id: 'a1b2c3' },
  { status: 'latest: digest: sha256:abc size: 527' },
  { aux: { ID: 'sha256:1c35c4412082e4ae8a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7' } },
  { aux: { Tag: 'latest', Digest: 'sha256:abc', Size: 527 } },
  { id: 'moby.buildkit.trace', aux: 'CgQKAggBEgIIAQ==' },
  { stream: 'quotes " and braces { } and \\ escapes \u00e9 \ud83d\ude00\n' },
];

const ERRORS: readonly object[] = [
  { errorDetail: { message: 'The command \'/bin/sh -c exit 3\' returned a non-zero code: 3', code: 3 }, error: "The command '/bin/sh -c exit 3' returned a non-zero code: 3" },
  { error: 'denied: requested access to the resource is denied' },
  { errorDetail: null, error: '' },
  { errorDetail: { message: 42 } },
];

interface Input {
  readonly chunks: Buffer[];
  /** The messages when the stream was left intact (then they must come out exactly). */
  readonly expect?: object[];
  /** Fail the body after this many chunks (a reset connection). */
  readonly failAfter?: number;
  /** Stall after this many chunks until the case's signal aborts it (a daemon that stops talking). */
  readonly stallAfter?: number;
}

function generate(rng: Rng): Input {
  const messages = Array.from({ length: rng.range(0, 12) }, () => (rng.chance(0.004) ? { stream: 'x'.repeat(rng.range(100_000, 1_000_000)) } : rng.pick(SAMPLES)));
  if (rng.chance(0.15)) messages.push(rng.pick(ERRORS));
  const sep = rng.pick(['\r\n', '\n', '', ' \n\t']);
  let text = messages.map((m) => JSON.stringify(m)).join(sep) + (rng.chance(0.5) ? sep : '');
  const intact = rng.chance(0.4);
  if (!intact) {
    for (let k = rng.range(1, 3); k > 0; k--) {
      const at = rng.int(text.length + 1);
      switch (rng.int(6)) {
        case 0:
          text = text.slice(0, at); // truncated
          break;
        case 1:
          text = `${text.slice(0, at)}\n${nastyText(rng)}\n${text.slice(at)}`; // garbage line
          break;
        case 2:
          text = text.slice(0, at) + rng.pick(['{', '}', '"', '\\', '{"a":', '{"stream":"', '}}}', '{{{{{{{{']) + text.slice(at);
          break;
        case 3:
          text = `${text.slice(0, at)}{"stream":"${'y'.repeat(rng.range(10_000, 200_000))}${text.slice(at)}`; // huge unterminated
          break;
        case 4:
          text = `${text.slice(0, at)}${'{'.repeat(rng.range(1, 5000))}${text.slice(at)}`; // deep nesting
          break;
        default:
          text = text.slice(0, at) + text.slice(at + rng.range(1, 30));
      }
    }
  }
  let data = Buffer.from(text, 'utf8');
  if (!intact && rng.chance(0.1)) {
    // Broken UTF-8: a lone continuation byte or a truncated sequence.
    const at = rng.int(data.length + 1);
    data = Buffer.concat([data.subarray(0, at), Buffer.from(rng.pick([[0x80], [0xe2, 0x82], [0xff], [0xc0, 0xaf]])), data.subarray(at)]);
  }
  const chunks = randomSplit(rng, data);
  const r = rng.float();
  return {
    chunks,
    ...(intact ? { expect: messages } : {}),
    ...(r < 0.1 ? { failAfter: rng.int(chunks.length + 1) } : r < 0.15 ? { stallAfter: rng.int(chunks.length + 1) } : {}),
  };
}

async function* body(input: Input, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < input.chunks.length; i++) {
    if (input.failAfter === i) throw Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    if (input.stallAfter === i) {
      // Like undici's body, a stalled read ends with an error when the request's signal aborts.
      await new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')), { once: true }));
    }
    yield input.chunks[i] as Buffer;
  }
}

async function run(input: Input): Promise<void> {
  const ac = new AbortController();
  // A stalled body is cancelled by the caller, as a CLI would on Ctrl-C: the decoder must end in ABORTED.
  const timer = input.stallAfter === undefined ? undefined : setTimeout(() => ac.abort(), 5);
  const got: object[] = [];
  try {
    for await (const m of readJsonMessages(body(input, ac.signal), ac.signal)) got.push(m);
  } finally {
    clearTimeout(timer);
  }
  if (input.expect && input.failAfter === undefined && input.stallAfter === undefined) {
    // The docker CLI's rule: a message is a failure when errorDetail is set or error is non-empty.
    const isFailure = (m: { error?: unknown; errorDetail?: unknown }): boolean =>
      (m.errorDetail !== undefined && m.errorDetail !== null) || (typeof m.error === 'string' && m.error !== '');
    const firstFailure = input.expect.findIndex(isFailure);
    const want = firstFailure < 0 ? input.expect : input.expect.slice(0, firstFailure);
    if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`decoded ${got.length} messages, sent ${want.length}`);
  }
}

describe('fuzz: engine JSON message stream', () => {
  it('split, garbage, huge, truncated and failing streams end in messages or an ImgtoolError', async () => {
    const report = await fuzz<Input>({
      name: 'engine-json-stream',
      seed: 0x150e,
      cases: 3000,
      generate,
      run,
      describe: (i) => JSON.stringify({ chunks: i.chunks.length, bytes: i.chunks.reduce((a, c) => a + c.length, 0), head: Buffer.concat(i.chunks).toString('utf8', 0, 300), failAfter: i.failAfter, stallAfter: i.stallAfter, intact: i.expect !== undefined }),
    });
    if (!isReplay()) expect(report.errors['ENGINE_STREAM']).toBeGreaterThan(0);
    if (!isReplay()) expect(report.errors['ABORTED']).toBeGreaterThan(0);
    if (!isReplay()) expect(report.ok).toBeGreaterThan(report.cases / 4);
  }, 300_000);
});

/**
 * Decoder for the Engine's JSON message stream (protocols.md §1.3): objects separated by
 * "\r\n" (or "\n", or nothing at all), split arbitrarily across chunks. Failures arrive as
 * `error`/`errorDetail` lines inside an HTTP 200, so they are thrown here rather than left
 * for every caller to remember. The operation is over only when the body ends.
 */
import { abortError, ImgtoolError } from '../image/errors.js';
import type { JsonMessage } from './types.js';

/** Largest single message accepted (a BuildKit trace aux can be big, but not this big). */
const MAX_MESSAGE_CHARS = 64 * 1024 * 1024;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** True for JSON insignificant whitespace (space, tab, CR, LF); a BOM is tolerated too. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0xfeff;
}

/**
 * Splits text into complete top-level JSON objects. It tracks brace depth outside strings,
 * so it needs no separator and never rescans text it has already looked at.
 */
class ObjectSplitter {
  private buf = '';
  /** Index in `buf` where scanning resumes. */
  private pos = 0;
  /** Index in `buf` where the current object starts, or -1 between objects. */
  private start = -1;
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Adds text; returns the objects it completed, as JSON text. */
  push(text: string): string[] {
    this.buf += text;
    const out: string[] = [];
    const buf = this.buf;
    for (let i = this.pos; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (this.start < 0) {
        if (isSpace(c)) continue;
        if (c !== OPEN_BRACE) {
          throw new ImgtoolError('ENGINE_STREAM', `the engine sent something that is not a JSON message: ${JSON.stringify(snippet(buf, i))}`, {
            hint: 'this is unexpected from a Docker Engine; check the endpoint (-H/DOCKER_HOST) really is a docker daemon',
          });
        }
        this.start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE) this.depth++;
      else if (c === CLOSE_BRACE && --this.depth === 0) {
        out.push(buf.slice(this.start, i + 1));
        this.start = -1;
      }
    }
    // Keep only the unfinished object, so memory stays bounded by one message.
    if (this.start < 0) {
      this.buf = '';
      this.pos = 0;
    } else {
      this.buf = buf.slice(this.start);
      this.pos = this.buf.length;
      this.start = 0;
      if (this.buf.length > MAX_MESSAGE_CHARS) {
        throw new ImgtoolError('ENGINE_STREAM', `a JSON message from the engine exceeds ${MAX_MESSAGE_CHARS} characters`);
      }
    }
    return out;
  }

  /** Text of an object that started but did not finish. */
  pending(): string | undefined {
    return this.start < 0 ? undefined : this.buf;
  }
}

function snippet(text: string, from: number): string {
  return text.slice(from, from + 80);
}

/** Parses one complete object; a syntax error means the daemon sent something broken. */
function parseMessage(text: string): JsonMessage {
  try {
    return JSON.parse(text) as JsonMessage;
  } catch (err) {
    throw new ImgtoolError('ENGINE_STREAM', `the engine sent a malformed JSON message: ${JSON.stringify(snippet(text, 0))}`, { cause: err });
  }
}

/** The ImgtoolError for a stream line carrying `error`/`errorDetail`. */
export function streamError(msg: JsonMessage): ImgtoolError {
  const detail = msg.errorDetail;
  const message = (typeof detail?.message === 'string' && detail.message) || (typeof msg.error === 'string' && msg.error) || 'the engine reported an error without a message';
  const code = typeof detail?.code === 'number' ? detail.code : undefined;
  return new ImgtoolError('ENGINE_STREAM', message.trimEnd(), { details: code === undefined ? {} : { code } });
}

/** True when a message reports a failure (either field counts, as in the docker CLI). */
export function isErrorMessage(msg: JsonMessage): boolean {
  const hasDetail = msg.errorDetail !== undefined && msg.errorDetail !== null;
  const hasError = typeof msg.error === 'string' && msg.error !== '';
  return hasDetail || hasError;
}

/**
 * Yields the messages of an Engine JSON stream in order. Throws ImgtoolError('ENGINE_STREAM')
 * at the first `error`/`errorDetail` message (after yielding all messages before it), when
 * the body ends inside a message, or when reading the body fails (a reset connection is a
 * failure, not the end of the operation). Throws ABORTED when `signal` fires.
 */
export async function* readJsonMessages(body: AsyncIterable<Uint8Array>, signal?: AbortSignal): AsyncGenerator<JsonMessage, void, undefined> {
  const decoder = new TextDecoder('utf-8');
  const splitter = new ObjectSplitter();
  const iterator = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      if (signal?.aborted) throw abortError(signal, 'reading the engine response');
      let next: IteratorResult<Uint8Array>;
      try {
        next = await iterator.next();
      } catch (err) {
        throw bodyReadError(err, signal);
      }
      const text = next.done ? decoder.decode() : decoder.decode(next.value, { stream: true });
      for (const json of splitter.push(text)) {
        const msg = parseMessage(json);
        if (isErrorMessage(msg)) throw streamError(msg);
        yield msg;
      }
      if (next.done) break;
    }
    const rest = splitter.pending();
    if (rest !== undefined) {
      throw new ImgtoolError('ENGINE_STREAM', `the engine's response ended in the middle of a message: ${JSON.stringify(snippet(rest, 0))}`, {
        hint: 'the connection to the engine was probably cut; check the daemon is still running and retry',
      });
    }
  } finally {
    // Ends the body (and so the HTTP request) when the consumer stops early or we throw.
    await iterator.return?.().catch(() => undefined);
  }
}

/** Maps a failure while reading the body to ABORTED or ENGINE_STREAM (keeping ImgtoolErrors). */
function bodyReadError(err: unknown, signal: AbortSignal | undefined): ImgtoolError {
  if (err instanceof ImgtoolError) return err;
  if (signal?.aborted) return abortError(signal, 'reading the engine response');
  const reason = err instanceof Error ? err.message : String(err);
  return new ImgtoolError('ENGINE_STREAM', `the engine's response stream broke before it ended: ${reason}`, {
    cause: err,
    hint: 'the daemon may have restarted or the connection was cut; the operation did not finish, retry it',
  });
}

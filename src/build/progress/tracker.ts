/**
 * Turns the Engine's build stream into build steps, whichever builder runs: the classic
 * builder's `Step N/M : ...` text lines, or BuildKit's protobuf traces. Keeps the last lines of
 * each step's output so a failure can show what the failing step printed, and the resulting
 * image id (classic: the last `aux.ID`; BuildKit: `moby.image.id`).
 */
import type { JsonMessage } from '../../engine/types.js';
import { decodeTraceAux, type BuildkitVertex } from './buildkit.js';

/** Something a progress display shows. */
export type ProgressEvent =
  | { readonly type: 'step-start'; readonly step: number; readonly name: string }
  | { readonly type: 'step-done'; readonly step: number; readonly name: string; readonly cached: boolean; readonly ms?: number }
  | { readonly type: 'step-error'; readonly step: number; readonly name: string; readonly error: string }
  /** A line of output; `step` is undefined for messages outside any step. */
  | { readonly type: 'output'; readonly step: number | undefined; readonly text: string }
  | { readonly type: 'warning'; readonly text: string }
  | { readonly type: 'image'; readonly id: string };

interface StepState {
  readonly step: number;
  name: string;
  started: boolean;
  done: boolean;
  cached: boolean;
  error?: string;
  tail: string[];
  /** Unfinished last line of output. */
  partial: string;
}

/** What a failed build leaves for the error message. */
export interface BuildFailureInfo {
  /** Name of the failing step, when known. */
  readonly step?: string;
  /** Its last output lines. */
  readonly tail: readonly string[];
}

const CLASSIC_STEP = /^Step (\d+)\/(\d+) : (.*)$/;
const CLASSIC_RESULT = /^ ---> ([0-9a-f]{12})$/;

/** Follows one build's messages; see the module comment. */
export class BuildProgressTracker {
  private readonly steps = new Map<string, StepState>();
  private readonly order: StepState[] = [];
  private classicCurrent: StepState | undefined;
  private classicPartial = '';
  private result: string | undefined;
  private readonly tailLines: number;

  /** `tailLines`: how many output lines per step to keep for failure messages (default 20). */
  constructor(options: { tailLines?: number } = {}) {
    this.tailLines = options.tailLines ?? 20;
  }

  /** The image id the build produced, once the stream said so. */
  get imageId(): string | undefined {
    return this.result;
  }

  /** The failing step (a BuildKit step with an error, else the last step started) and its output. */
  failure(): BuildFailureInfo {
    const failed = this.order.find((s) => s.error !== undefined) ?? [...this.order].reverse().find((s) => s.started && !s.done) ?? this.order[this.order.length - 1];
    if (!failed) return { tail: [] };
    const tail = failed.partial === '' ? failed.tail : [...failed.tail, failed.partial].slice(-this.tailLines);
    return { step: failed.name, tail };
  }

  /** Feeds one message; returns what to show. Error messages never get here (the engine throws). */
  push(msg: JsonMessage): ProgressEvent[] {
    const events: ProgressEvent[] = [];
    if (msg.id === 'moby.buildkit.trace' && typeof msg.aux === 'string') {
      this.buildkit(msg.aux, events);
      return events;
    }
    const auxId = typeof msg.aux === 'object' && msg.aux !== null ? (msg.aux as { ID?: unknown }).ID : undefined;
    if (typeof auxId === 'string') {
      this.result = auxId;
      events.push({ type: 'image', id: auxId });
      return events;
    }
    if (typeof msg.stream === 'string') {
      this.classic(msg.stream, events);
      return events;
    }
    if (typeof msg.status === 'string') {
      // Pull progress while the classic builder fetches a base image: only the textual statuses.
      if (msg.progressDetail && typeof msg.progressDetail.current === 'number') return events;
      const text = msg.id ? `${msg.id}: ${msg.status}` : msg.status;
      this.output(this.classicCurrent, text, events);
    }
    return events;
  }

  private keep(step: StepState, line: string): void {
    step.tail.push(line);
    if (step.tail.length > this.tailLines) step.tail.shift();
  }

  private output(step: StepState | undefined, line: string, events: ProgressEvent[]): void {
    if (step) this.keep(step, line);
    events.push({ type: 'output', step: step?.step, text: line });
  }

  private newStep(key: string, name: string): StepState {
    const s: StepState = { step: this.order.length + 1, name, started: false, done: false, cached: false, tail: [], partial: '' };
    this.steps.set(key, s);
    this.order.push(s);
    return s;
  }

  private classic(text: string, events: ProgressEvent[]): void {
    const lines = (this.classicPartial + text).split('\n');
    this.classicPartial = lines.pop() ?? '';
    for (const raw of lines) {
      const line = raw.replace(/\r$/, '');
      const step = CLASSIC_STEP.exec(line);
      if (step) {
        this.finishClassic(events, false);
        const s = this.newStep(`classic-${step[1]}`, `[${step[1]}/${step[2]}] ${step[3]}`);
        s.started = true;
        this.classicCurrent = s;
        events.push({ type: 'step-start', step: s.step, name: s.name });
        continue;
      }
      const cur = this.classicCurrent;
      if (cur && line === ' ---> Using cache') {
        cur.cached = true;
        continue;
      }
      if (cur && CLASSIC_RESULT.test(line)) {
        this.finishClassic(events, true);
        continue;
      }
      // Bookkeeping lines of the classic builder, not output of the step.
      if (/^ ---> Running in [0-9a-f]+$/.test(line) || /^Removing intermediate container [0-9a-f]+$/.test(line) || /^ ---> [0-9a-f]{12}$/.test(line)) continue;
      if (/^Successfully (built|tagged) /.test(line)) continue;
      if (line === '' && !cur) continue;
      this.output(cur, line, events);
    }
  }

  private finishClassic(events: ProgressEvent[], ok: boolean): void {
    const cur = this.classicCurrent;
    if (!cur || cur.done) return;
    if (!ok) return; // the previous step ended without a result line (no-op steps); leave it to the next
    cur.done = true;
    events.push({ type: 'step-done', step: cur.step, name: cur.name, cached: cur.cached });
  }

  private buildkit(aux: string, events: ProgressEvent[]): void {
    let decoded;
    try {
      decoded = decodeTraceAux(aux);
    } catch {
      // A trace we cannot read is progress lost, not a failed build.
      return;
    }
    for (const v of decoded.vertexes) this.vertex(v, events);
    for (const l of decoded.logs) {
      const s = this.steps.get(l.vertex) ?? this.newStep(l.vertex, l.vertex);
      const lines = (s.partial + Buffer.from(l.data).toString('utf8')).split('\n');
      s.partial = lines.pop() ?? '';
      for (const line of lines) this.output(s, line.replace(/\r$/, ''), events);
    }
    for (const w of decoded.warnings) {
      events.push({ type: 'warning', text: [w.short, ...w.detail].filter((x) => x !== '').join(' ') });
    }
  }

  private vertex(v: BuildkitVertex, events: ProgressEvent[]): void {
    const s = this.steps.get(v.digest) ?? this.newStep(v.digest, v.name);
    if (v.name !== '') s.name = v.name;
    if (!s.started && (v.started !== undefined || v.cached)) {
      s.started = true;
      events.push({ type: 'step-start', step: s.step, name: s.name });
    }
    if (v.cached) s.cached = true;
    if (v.error !== undefined && s.error === undefined) {
      s.error = v.error;
      s.done = true;
      if (s.partial !== '') {
        this.keep(s, s.partial);
        s.partial = '';
      }
      events.push({ type: 'step-error', step: s.step, name: s.name, error: v.error });
      return;
    }
    if (!s.done && (v.completed !== undefined || v.cached)) {
      s.done = true;
      if (s.partial !== '') {
        this.output(s, s.partial, events);
        s.partial = '';
      }
      const ms = v.completed !== undefined && v.started !== undefined ? v.completed - v.started : undefined;
      events.push({ type: 'step-done', step: s.step, name: s.name, cached: s.cached, ...(ms === undefined ? {} : { ms }) });
    }
  }
}

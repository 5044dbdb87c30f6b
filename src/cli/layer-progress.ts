/**
 * Shows per-layer progress of a push or pull on stderr: an `ora` spinner with a running
 * summary for a human at a terminal, plain "<layer>: <status>" lines otherwise (CI logs stay
 * readable, and byte-count updates do not flood them).
 */
import type { PushProgress } from '../registry/push-direct/push.js';
import type { LayerProgress, LayerProgressEvent } from '../registry/engine-ops/progress.js';
import { isInteractive, log, type CliRuntime } from './runtime.js';

/** Formats a byte count like the docker CLI's progress (`12.3MB`). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? String(v) : v.toFixed(1)}${units[i]}`;
}

/** A status display: lines in plain mode, spinner text in a terminal. */
interface StatusDisplay {
  /** A discrete event: printed as a line in plain mode, ignored by the spinner. */
  line(text: string): void;
  /** The running summary: spinner text in a terminal, ignored in plain mode. */
  summary(text: string): void;
  end(ok: boolean, finalLine?: string): void;
}

interface Spinner {
  text: string;
  start(): Spinner;
  succeed(text?: string): Spinner;
  stop(): Spinner;
}

async function statusDisplay(rt: CliRuntime, title: string, quiet: boolean): Promise<StatusDisplay> {
  if (quiet) return { line: () => undefined, summary: () => undefined, end: () => undefined };
  if (!isInteractive(rt)) {
    log(rt, title);
    return {
      line: (text) => log(rt, text),
      summary: () => undefined,
      end: (ok, finalLine) => {
        if (ok && finalLine) log(rt, finalLine);
      },
    };
  }
  const { default: ora } = await import('ora');
  const spinner: Spinner = ora({ text: title, stream: rt.stderr as NodeJS.WriteStream, discardStdin: false }).start();
  return {
    line: () => undefined,
    summary: (text) => {
      spinner.text = `${title}  ${text}`;
    },
    end: (ok, finalLine) => {
      if (ok) spinner.succeed(finalLine ?? title);
      else spinner.stop();
    },
  };
}

/** A progress display for engine pushes and pulls: feed it events, end it once the stream has ended. */
export interface ProgressView {
  onProgress(event: LayerProgressEvent, progress: LayerProgress): void;
  /** Stops the spinner with a final line (success) or clears it (failure). */
  end(ok: boolean, finalLine?: string): void;
}

/** Creates the display suited to `rt` for an engine operation; nothing with `quiet`. */
export async function createProgressView(rt: CliRuntime, title: string, quiet = false): Promise<ProgressView> {
  const d = await statusDisplay(rt, title, quiet);
  return {
    onProgress(event, progress) {
      if (event.kind === 'status') d.line(event.message);
      else if (event.statusChanged) d.line(`${event.layer.id}: ${event.layer.status}`);
      const s = progress.summary();
      d.summary(`${s.done}/${s.layers} layers${s.total > 0 ? `  ${humanBytes(s.current)} / ${humanBytes(s.total)}` : ''}`);
    },
    end: (ok, finalLine) => d.end(ok, finalLine),
  };
}

/** A progress display for direct pushes (blob by blob). */
export interface DirectProgressView {
  onProgress(event: PushProgress): void;
  end(ok: boolean, finalLine?: string): void;
}

/** Creates the display for `push --direct`. */
export async function createDirectProgressView(rt: CliRuntime, title: string, quiet = false): Promise<DirectProgressView> {
  const d = await statusDisplay(rt, title, quiet);
  const states = new Map<string, string>();
  const sizes = new Map<string, number>();
  return {
    onProgress(event) {
      if (event.kind === 'preparing') d.line(event.what);
      else if (event.kind === 'manifest') d.line(`manifest ${event.digest}`);
      else {
        const short = event.digest.replace(/^sha256:/, '').slice(0, 12);
        states.set(event.digest, event.state);
        sizes.set(event.digest, event.size);
        const text = event.state === 'mounted' && event.from ? `mounted from ${event.from}` : event.state === 'exists' ? 'already exists' : event.state;
        d.line(`${short}: ${text} (${humanBytes(event.size)})`);
      }
      const done = [...states.values()].filter((s) => s === 'exists' || s === 'mounted' || s === 'uploaded').length;
      d.summary(`${done}/${states.size} blobs`);
    },
    end: (ok, finalLine) => d.end(ok, finalLine),
  };
}

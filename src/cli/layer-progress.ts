/**
 * Shows per-layer progress of an engine push or pull on stderr: an `ora` spinner with a
 * running summary for a human at a terminal, plain "<layer>: <status>" lines otherwise (CI
 * logs stay readable and byte-count updates do not flood them).
 */
import type { LayerProgress, ProgressEvent } from '../registry/engine-ops/progress.js';
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

/** A progress display: feed it events, then end it once the operation's stream has ended. */
export interface ProgressView {
  onProgress(event: ProgressEvent, progress: LayerProgress): void;
  /** Stops the spinner with a final line (success) or clears it (failure). */
  end(ok: boolean, finalLine?: string): void;
}

interface Spinner {
  text: string;
  start(): Spinner;
  succeed(text?: string): Spinner;
  stop(): Spinner;
}

/** Creates the display suited to `rt`: ora in a TTY, plain lines otherwise; nothing with `quiet`. */
export async function createProgressView(rt: CliRuntime, title: string, quiet = false): Promise<ProgressView> {
  if (quiet) return { onProgress: () => undefined, end: () => undefined };
  if (!isInteractive(rt)) {
    log(rt, title);
    return {
      onProgress(event) {
        if (event.kind === 'status') log(rt, event.message);
        else if (event.statusChanged) log(rt, `${event.layer.id}: ${event.layer.status}`);
      },
      end(ok, finalLine) {
        if (ok && finalLine) log(rt, finalLine);
      },
    };
  }
  const { default: ora } = await import('ora');
  const spinner: Spinner = ora({ text: title, stream: rt.stderr as NodeJS.WriteStream, discardStdin: false }).start();
  return {
    onProgress(_event, progress) {
      const s = progress.summary();
      const bytes = s.total > 0 ? `  ${humanBytes(s.current)} / ${humanBytes(s.total)}` : '';
      spinner.text = `${title}  ${s.done}/${s.layers} layers${bytes}`;
    },
    end(ok, finalLine) {
      if (ok) spinner.succeed(finalLine ?? title);
      else spinner.stop();
    },
  };
}

/**
 * Build progress displays. They write to a stream the caller gives them (stderr in the CLI);
 * none touches the process. `plain` prints one line per event (CI logs), `tty` shows an ora
 * spinner on the running step with its output scrolling above, `json` passes the engine's
 * messages through as JSON lines, `quiet` prints nothing.
 */
import type { Writable } from 'node:stream';
import type { Ora } from 'ora';

/** ora's default export; passed in so that only a terminal session pays for loading it. */
export type OraFactory = typeof import('ora').default;
import type { JsonMessage } from '../../engine/types.js';
import type { ProgressEvent } from './tracker.js';

/** Progress display modes, as `--progress` takes them (`auto` is resolved by the caller). */
export type ProgressMode = 'plain' | 'tty' | 'json' | 'quiet';

/** A progress display. */
export interface ProgressRenderer {
  /** Every raw engine message (the json display prints these). */
  message(msg: JsonMessage): void;
  /** Decoded events (plain and tty displays print these). */
  event(e: ProgressEvent): void;
  /** The build ended; `error` is the daemon's message when it failed. */
  end(error?: string): void;
}

const seconds = (ms: number | undefined): string => (ms === undefined ? '' : ` ${(ms / 1000).toFixed(1)}s`);

/** One line per event, BuildKit-plain style: `#3 [2/4] RUN make`, `#3 <output>`, `#3 DONE 1.2s`. */
export class PlainRenderer implements ProgressRenderer {
  constructor(private readonly out: Writable) {}
  message(): void {}
  event(e: ProgressEvent): void {
    switch (e.type) {
      case 'step-start':
        this.out.write(`#${e.step} ${e.name}\n`);
        break;
      case 'step-done':
        this.out.write(`#${e.step} ${e.cached ? 'CACHED' : `DONE${seconds(e.ms)}`}\n`);
        break;
      case 'step-error':
        this.out.write(`#${e.step} ERROR: ${e.error}\n`);
        break;
      case 'output':
        this.out.write(e.step === undefined ? `${e.text}\n` : `#${e.step} ${e.text}\n`);
        break;
      case 'warning':
        this.out.write(`WARNING: ${e.text}\n`);
        break;
      case 'image':
        break;
    }
  }
  end(): void {}
}

/** The engine's messages as JSON lines, unchanged; a failure as one `{"error","errorDetail"}` line. */
export class JsonRenderer implements ProgressRenderer {
  constructor(private readonly out: Writable) {}
  message(msg: JsonMessage): void {
    this.out.write(`${JSON.stringify(msg)}\n`);
  }
  event(): void {}
  end(error?: string): void {
    if (error !== undefined) this.out.write(`${JSON.stringify({ errorDetail: { message: error }, error })}\n`);
  }
}

/** Prints nothing. */
export class QuietRenderer implements ProgressRenderer {
  message(): void {}
  event(): void {}
  end(): void {}
}

/**
 * An ora spinner on the step running most recently; finished steps stay as `✔ name 1.2s`
 * (or `CACHED`), failed ones as `✖ name`, and step output scrolls above the spinner.
 */
export class SpinnerRenderer implements ProgressRenderer {
  private readonly spinner: Ora;
  private readonly running = new Map<number, string>();

  constructor(
    private readonly out: Writable,
    ora: OraFactory,
  ) {
    this.spinner = ora({ stream: out as NodeJS.WritableStream, isEnabled: true, discardStdin: false, hideCursor: true });
  }

  message(): void {}

  private refresh(): void {
    const last = [...this.running.values()].pop();
    if (last === undefined) {
      if (this.spinner.isSpinning) this.spinner.stop();
      return;
    }
    this.spinner.text = last;
    if (!this.spinner.isSpinning) this.spinner.start();
  }

  private above(line: string): void {
    const spinning = this.spinner.isSpinning;
    if (spinning) this.spinner.clear();
    this.out.write(`${line}\n`);
    if (spinning) this.spinner.render();
  }

  event(e: ProgressEvent): void {
    switch (e.type) {
      case 'step-start':
        this.running.set(e.step, e.name);
        this.refresh();
        break;
      case 'step-done':
        this.running.delete(e.step);
        this.spinner.stopAndPersist({ symbol: '✔', text: `${e.name}${e.cached ? ' CACHED' : seconds(e.ms)}` });
        this.refresh();
        break;
      case 'step-error':
        this.running.delete(e.step);
        this.spinner.stopAndPersist({ symbol: '✖', text: `${e.name}: ${e.error}` });
        this.refresh();
        break;
      case 'output':
        this.above(`  ${e.text}`);
        break;
      case 'warning':
        this.above(`WARNING: ${e.text}`);
        break;
      case 'image':
        break;
    }
  }

  end(): void {
    if (this.spinner.isSpinning) this.spinner.stop();
  }
}

/** The display for `mode`, writing to `out`; ora is loaded only for `tty`. */
export async function createRenderer(mode: ProgressMode, out: Writable): Promise<ProgressRenderer> {
  switch (mode) {
    case 'plain':
      return new PlainRenderer(out);
    case 'tty':
      return new SpinnerRenderer(out, (await import('ora')).default);
    case 'json':
      return new JsonRenderer(out);
    case 'quiet':
      return new QuietRenderer();
  }
}

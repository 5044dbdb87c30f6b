/**
 * imgtool run in-process through `run()` with captured, non-TTY streams, its output recorded
 * for the suite-wide secrets audit. The caller gives the whole environment: nothing of the
 * test process leaks in unless passed.
 */
import { PassThrough, Writable } from 'node:stream';
import { run, type BaseRuntime } from '../../src/cli/program.js';
import { recordImgtoolRun } from './transcript.js';

/** What one in-process run of imgtool printed. */
export interface InProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@link runInProcess}. */
export interface InProcessOptions {
  /** Names the harness in the secrets audit's record. */
  readonly label: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Text on stdin (default: empty, already ended). */
  readonly stdin?: string;
  readonly signal?: AbortSignal;
}

/** Runs `imgtool <argv>` in this process and returns its exit code and output. */
export async function runInProcess(argv: string[], opts: InProcessOptions): Promise<InProcessResult> {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void): Writable =>
    new Writable({
      write(chunk: Buffer | string, _enc, cb) {
        append(chunk.toString());
        cb();
      },
    });
  const stdin = new PassThrough();
  stdin.end(opts.stdin ?? '');
  const base: BaseRuntime = {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    stdin,
    env: opts.env,
    cwd: opts.cwd,
    signal: opts.signal ?? new AbortController().signal,
    stdoutIsTTY: false,
    stderrIsTTY: false,
  };
  const code = await run(argv, base);
  recordImgtoolRun(opts.label, argv, { stdout, stderr }, opts.cwd);
  return { code, stdout, stderr };
}

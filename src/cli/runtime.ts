import type { Writable } from 'node:stream';

/** Options every command understands; they mean what they mean for the docker CLI. */
export interface GlobalOptions {
  /** -H/--host: daemon socket to connect to. */
  readonly host?: string;
  /** --context: docker context name. */
  readonly context?: string;
  /** --debug: verbose logs on stderr (secrets redacted). */
  readonly debug: boolean;
  readonly tls: boolean;
  readonly tlsverify: boolean;
  readonly tlscacert?: string;
  readonly tlscert?: string;
  readonly tlskey?: string;
}

/**
 * Everything a command may touch of the outside world. Only src/cli builds one (from `process`),
 * so the library stays free of globals and tests can run commands in-process.
 */
export interface CliRuntime {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: NodeJS.ReadableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** True when stdout is a terminal. */
  readonly stdoutIsTTY: boolean;
  /** True when stderr is a terminal. */
  readonly stderrIsTTY: boolean;
  /** Parsed global options; valid once commander has parsed argv. */
  globals(): GlobalOptions;
}

/** Writes a result line on stdout. */
export function printResult(rt: CliRuntime, text: string): void {
  rt.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Writes a JSON result on stdout (pretty, one document). */
export function printJson(rt: CliRuntime, value: unknown): void {
  rt.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Writes a log/progress line on stderr. */
export function log(rt: CliRuntime, text: string): void {
  rt.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Writes a debug line on stderr when --debug is set. Callers must pass redacted text. */
export function debug(rt: CliRuntime, text: string): void {
  if (rt.globals().debug) log(rt, `debug: ${text}`);
}

/**
 * Spinners and colour only for a human at a terminal: not when stderr is not a TTY,
 * when CI is set, or with NO_COLOR.
 */
export function isInteractive(rt: CliRuntime): boolean {
  return rt.stderrIsTTY && !rt.env['CI'] && rt.env['NO_COLOR'] === undefined;
}

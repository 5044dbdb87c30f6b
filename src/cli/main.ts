#!/usr/bin/env node
import { run } from './program.js';

// The only place that touches the real process: signals, streams, environment, exit code.
const controller = new AbortController();
let interrupts = 0;
const onSignal = (sig: NodeJS.Signals): void => {
  interrupts += 1;
  // A second Ctrl-C means "now": do not wait for clean-up.
  if (interrupts > 1) process.exit(130);
  controller.abort(new Error(`received ${sig}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
  stdoutIsTTY: process.stdout.isTTY === true,
  stderrIsTTY: process.stderr.isTTY === true,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);

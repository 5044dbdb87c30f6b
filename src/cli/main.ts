#!/usr/bin/env node

// The only place that touches the real process: signals, streams, environment, exit code.
const controller = new AbortController();
let interrupts = 0;
let received: NodeJS.Signals | undefined;
const onSignal = (sig: NodeJS.Signals): void => {
  interrupts += 1;
  received ??= sig;
  // A second Ctrl-C means "now": do not wait for clean-up.
  if (interrupts > 1) process.exit(130);
  controller.abort(new Error(`received ${sig}`));
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const argv = process.argv.slice(2);
// `imgtool --version` answers before commander and the command table are loaded.
const versionOnly = argv.length === 1 && (argv[0] === '--version' || argv[0] === '-v');
if (versionOnly) {
  const { packageVersion } = await import('./version.js');
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const { run } = await import('./program.js');
  process.exitCode = await run(argv, {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
    signal: controller.signal,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
  });
  // A cancelled run exits 130 (SIGINT); stopped by SIGTERM it exits 143, as shells report it.
  if (process.exitCode === 130 && received === 'SIGTERM') process.exitCode = 143;
}
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);

export {};

import { Command, CommanderError, Option } from 'commander';
import { packageVersion } from './version.js';
import { ImgtoolError } from '../image/errors.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import type { CliRuntime, GlobalOptions } from './runtime.js';
import { registerCommands } from './commands/index.js';


/** Builds the commander program with the global options and every command. */
export function createProgram(rt: CliRuntime): Command {
  const program = new Command('imgtool');
  program
    .description('Build container images from Dockerfiles, inspect their layers, publish them to registries.')
    .version(packageVersion(), '-v, --version', 'print the version and exit')
    .option('-H, --host <socket>', 'daemon socket to connect to (unix://, tcp://, ssh://)')
    .option('-c, --context <name>', 'docker context to use (overrides DOCKER_HOST and the current context)')
    .option('-D, --debug', 'log requests and decisions on stderr (secrets redacted)', false)
    .option('--tls', 'use TLS; implied by --tlsverify', false)
    .option('--tlsverify', 'use TLS and verify the remote', false)
    .addOption(new Option('--tlscacert <path>', 'trust certs signed only by this CA'))
    .addOption(new Option('--tlscert <path>', 'path to TLS certificate file'))
    .addOption(new Option('--tlskey <path>', 'path to TLS key file'))
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => rt.stdout.write(s),
      writeErr: (s) => rt.stderr.write(s),
    })
    .exitOverride();
  registerCommands(program, rt);
  for (const sub of program.commands) sub.exitOverride().configureOutput({
    writeOut: (s) => rt.stdout.write(s),
    writeErr: (s) => rt.stderr.write(s),
  });
  return program;
}

/** Reads the parsed global options off the root command. */
export function readGlobals(program: Command): GlobalOptions {
  const o = program.opts<Record<string, unknown>>();
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  const host = str('host');
  const context = str('context');
  const tlscacert = str('tlscacert');
  const tlscert = str('tlscert');
  const tlskey = str('tlskey');
  return {
    debug: o['debug'] === true,
    tls: o['tls'] === true,
    tlsverify: o['tlsverify'] === true,
    ...(host === undefined ? {} : { host }),
    ...(context === undefined ? {} : { context }),
    ...(tlscacert === undefined ? {} : { tlscacert }),
    ...(tlscert === undefined ? {} : { tlscert }),
    ...(tlskey === undefined ? {} : { tlskey }),
  };
}

/** Prints an error the way every command does: what failed, then what to do. */
export function reportError(rt: CliRuntime, err: unknown): void {
  if (err instanceof ImgtoolError) {
    rt.stderr.write(`imgtool: ${err.message}\n`);
    if (err.hint) rt.stderr.write(`  hint: ${err.hint}\n`);
    if (rt.globals().debug && err.cause !== undefined) {
      rt.stderr.write(`  cause: ${err.cause instanceof Error ? err.cause.message : String(err.cause)}\n`);
    }
    return;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  rt.stderr.write(`imgtool: unexpected error: ${message}\n  hint: this is a bug in imgtool; please report it with the command you ran\n`);
}

/** A runtime before argv is parsed: everything but the global options. */
export type BaseRuntime = Omit<CliRuntime, 'globals'>;

/** Runs imgtool with `argv` (without node and script) and returns the exit code. */
export async function run(argv: readonly string[], base: BaseRuntime): Promise<number> {
  let program: Command | undefined;
  const rt: CliRuntime = {
    ...base,
    globals: () => (program ? readGlobals(program) : { debug: false, tls: false, tlsverify: false }),
  };
  program = createProgram(rt);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through exitOverride with exit code 0.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    reportError(rt, err);
    return exitCodeFor(err);
  }
}

/** `imgtool init [DIR]`: write a Dockerfile and .dockerignore for a Go or Node project. */
// Only commander and the light runtime here: the detection code (and arborist) loads in the action.
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { ImgtoolError } from '../../image/errors.js';
import { log, printJson, type CliRuntime } from '../runtime.js';

interface InitFlags {
  readonly lang?: 'go' | 'node';
  readonly print?: boolean;
  readonly force?: boolean;
  readonly json?: boolean;
}

/** Registers `imgtool init`. */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('init')
    .description('write a Dockerfile and .dockerignore for the Go module or Node app in DIR (default: the current directory)')
    .argument('[dir]', 'project directory', '.')
    .addOption(new Option('--lang <language>', 'skip detection: the project is a Go module or a Node app').choices(['go', 'node']))
    .option('--print', 'print the Dockerfile on stdout instead of writing files', false)
    .option('--force', 'overwrite an existing Dockerfile and .dockerignore', false)
    .option('--json', 'print what was detected and written as JSON on stdout', false)
    .addHelpText(
      'after',
      '\nThe Dockerfile explains its choices in comments; a summary goes to stderr.\nExisting files are never replaced without --force (exit 1).',
    )
    .action(async (dir: string, flags: InitFlags) => {
      if (flags.print && flags.force) {
        throw new ImgtoolError('USAGE', '--print writes nothing, so --force has no effect with it', { hint: 'use one of --print or --force' });
      }
      const { initProject } = await import('../../init/index.js');
      const target = resolve(rt.cwd, dir);
      const result = await initProject(target, {
        lang: flags.lang,
        write: !flags.print,
        force: flags.force ?? false,
        signal: rt.signal,
      });
      for (const line of result.output.summary) log(rt, line);
      for (const w of result.planWarnings) log(rt, `  plan warning: Dockerfile:${w.line ?? '-'}: ${w.code} ${w.rule}: ${w.message}`);
      if (flags.json) {
        printJson(rt, {
          language: result.project.language,
          dir: result.project.dir,
          written: result.written,
          project: result.project,
          planWarnings: result.planWarnings,
          ...(flags.print ? { dockerfile: result.output.dockerfile, dockerignore: result.output.dockerignore } : {}),
        });
        return;
      }
      if (flags.print) {
        rt.stdout.write(result.output.dockerfile);
        log(rt, 'printed the Dockerfile (nothing written; run without --print to write Dockerfile and .dockerignore)');
        return;
      }
      log(rt, `wrote ${result.written.join(' and ')}`);
    });
}

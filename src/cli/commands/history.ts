import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';

interface HistoryFlags {
  noTrunc?: boolean;
  trunc?: boolean;
  json?: boolean;
  platform?: string;
  uncompressed?: boolean;
}

/**
 * `imgtool history IMAGE`: one row per history entry, newest first, like `docker history`,
 * from the engine, a registry (without pulling), a docker save tar or an OCI layout.
 */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('history')
    .description('Show the history of an image: one row per build step with layer sizes')
    .argument(
      '<image>',
      'docker-daemon:REF, docker://REF, docker-archive:PATH[:REF], oci:DIR[:TAG], oci-archive:PATH[:TAG], or a bare REF (engine first, then registry)',
    )
    .option('--no-trunc', "don't truncate output")
    .option('--json', 'print the report as JSON (schema in the docs)')
    .option('--platform <os/arch[/variant]>', 'image to read from a multi-platform index')
    .option('--uncompressed', 'registry sources: stream the layers to compute uncompressed sizes')
    .action(async (image: string, flags: HistoryFlags) => {
      const { runHistory } = await import('../layer-reports.js');
      await runHistory(rt, image, {
        noTrunc: flags.trunc === false,
        json: flags.json === true,
        uncompressed: flags.uncompressed === true,
        ...(flags.platform === undefined ? {} : { platform: flags.platform }),
      });
    });
}

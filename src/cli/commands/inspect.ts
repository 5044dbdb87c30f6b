import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';

interface InspectFlags {
  json?: boolean;
  platform?: string;
  maxSize?: string;
  maxWasted?: string;
  minEfficiency?: string;
  top?: string;
}

/**
 * `imgtool inspect IMAGE`: file-level analysis — per layer what was added, changed and
 * removed, the biggest files, wasted space and efficiency — with CI gates (exit 1 on breach).
 */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('inspect')
    .description('Analyse the files in every layer: wasted space, efficiency, biggest files; CI gates')
    .argument('<image>', 'docker-daemon:REF, docker://REF, docker-archive:PATH[:REF], oci:DIR[:TAG], oci-archive:PATH[:TAG], or a bare REF')
    .option('--json', 'print the report as JSON (schema in the docs)')
    .option('--platform <os/arch[/variant]>', 'image to read from a multi-platform index')
    .option('--max-size <bytes>', 'fail (exit 1) when the image is larger, e.g. 500MB, 1.5GiB')
    .option('--max-wasted <bytes>', 'fail (exit 1) when more bytes are wasted, e.g. 20MB')
    .option('--min-efficiency <ratio>', 'fail (exit 1) when efficiency is lower, 0..1 or a percentage')
    .option('--top <n>', 'rows of biggest and wasted files to show', '20')
    .action(async (image: string, flags: InspectFlags) => {
      const { parseRatio, parseSize } = await import('../../layers/units.js');
      const { ImgtoolError } = await import('../../image/errors.js');
      const top = Number(flags.top ?? '20');
      if (!Number.isInteger(top) || top < 0) throw new ImgtoolError('USAGE', `--top: ${JSON.stringify(flags.top)} is not a whole number`);
      const gates = {
        ...(flags.maxSize === undefined ? {} : { maxSize: parseSize(flags.maxSize, '--max-size') }),
        ...(flags.maxWasted === undefined ? {} : { maxWasted: parseSize(flags.maxWasted, '--max-wasted') }),
        ...(flags.minEfficiency === undefined ? {} : { minEfficiency: parseRatio(flags.minEfficiency, '--min-efficiency') }),
      };
      const { runInspect } = await import('../layer-reports.js');
      await runInspect(rt, image, {
        json: flags.json === true,
        gates,
        top,
        ...(flags.platform === undefined ? {} : { platform: flags.platform }),
      });
    });
}

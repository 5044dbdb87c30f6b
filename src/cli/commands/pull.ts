import type { Command } from 'commander';
import { debug, log, printJson, printResult, type CliRuntime } from '../runtime.js';

interface PullOptions {
  platform?: string;
  json?: boolean;
  quiet?: boolean;
}

/**
 * `imgtool pull REF`: pulls through the engine with the user's docker credentials (a broken
 * credential helper only warns, so public images still pull), shows per-layer progress on
 * stderr, and finishes only when the engine has finished. Prints `<name>@<digest>`.
 */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('pull')
    .description('Pull an image into the engine, using the docker credentials; prints name@digest')
    .argument('<reference>', 'image to pull, e.g. registry.example.com/team/app:1.4')
    .option('--platform <platform>', 'os[/arch[/variant]] to pull, e.g. linux/arm64')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .action(async (input: string, options: PullOptions) => {
      const { parseReference } = await import('../../image/reference.js');
      const { pullThroughEngine } = await import('../../registry/engine-ops/index.js');
      const { connectFromGlobals } = await import('../engine-options.js');
      const { createProgressView } = await import('../layer-progress.js');
      const ref = parseReference(input);
      const engine = await connectFromGlobals(rt);
      const view = await createProgressView(rt, `Pulling ${ref.familiar}`, options.quiet === true);
      let result;
      try {
        result = await pullThroughEngine(engine, ref, {
          env: rt.env,
          signal: rt.signal,
          ...(options.platform ? { platform: options.platform } : {}),
          warn: (m) => log(rt, `warning: ${m}`),
          log: (line) => debug(rt, line),
          onProgress: (event, progress) => view.onProgress(event, progress),
        });
      } catch (err) {
        view.end(false);
        throw err;
      } finally {
        await engine.close();
      }
      view.end(true, `Pulled ${ref.familiar}${result.status ? ` (${result.status})` : ''}`);
      if (options.json) printJson(rt, result);
      else printResult(rt, result.digest ? `${ref.name}@${result.digest}` : result.reference);
    });
}

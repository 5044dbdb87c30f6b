import type { Command } from 'commander';
import { debug, log, printJson, printResult, type CliRuntime } from '../runtime.js';

interface PushOptions {
  allTags?: boolean;
  digestFile?: string;
  json?: boolean;
  quiet?: boolean;
  direct?: boolean;
}

/**
 * `imgtool push REF`: pushes through the engine with the user's docker credentials, shows
 * per-layer progress on stderr, returns only when the engine's stream has ended, and prints
 * the pushed digest on stdout (nothing else), so `digest=$(imgtool push app:1)` works.
 */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('push')
    .description('Push an image to its registry through the engine, using the docker credentials; prints the digest')
    .argument('<reference>', 'image to push, e.g. registry.example.com/team/app:1.4')
    .option('-a, --all-tags', 'push every local tag of the repository')
    .option('--digest-file <file>', 'also write the pushed digest to this file')
    .option('-q, --quiet', 'no progress output')
    .option('--json', 'print the result as JSON')
    .option('--direct', 'upload straight to the registry instead of through the engine')
    .action(async (input: string, options: PushOptions) => {
      const { parseReference } = await import('../../image/reference.js');
      const { ImgtoolError } = await import('../../image/errors.js');
      const ref = parseReference(input, { defaultTag: options.allTags ? false : 'latest' });
      if (options.direct) {
        throw new ImgtoolError('USAGE', '--direct is not available in this build of imgtool', { hint: 'push through the engine (without --direct)' });
      }
      const { pushThroughEngine } = await import('../../registry/engine-ops/index.js');
      const { connectFromGlobals } = await import('../engine-options.js');
      const { createProgressView } = await import('../layer-progress.js');
      const engine = await connectFromGlobals(rt);
      const view = await createProgressView(rt, `Pushing ${ref.familiar}`, options.quiet === true);
      let result;
      try {
        result = await pushThroughEngine(engine, ref, {
          env: rt.env,
          signal: rt.signal,
          allTags: options.allTags === true,
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
      view.end(true, `Pushed ${ref.familiar} ${result.digest}`);
      if (options.digestFile) {
        const { writeFile } = await import('node:fs/promises');
        await writeFile(options.digestFile, result.digest, { signal: rt.signal });
      }
      if (options.json) printJson(rt, result);
      else if (options.allTags) for (const p of result.pushed) printResult(rt, `${ref.name}:${p.tag}@${p.digest}`);
      else printResult(rt, result.digest);
    });
}

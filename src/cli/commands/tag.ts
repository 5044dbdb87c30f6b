import type { Command } from 'commander';
import { printJson, type CliRuntime } from '../runtime.js';

interface TagOptions {
  json?: boolean;
}

/** `imgtool tag SOURCE TARGET`: tags a local image in the engine (TARGET validated like the docker CLI). */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('tag')
    .description('Create a tag TARGET that refers to the local image SOURCE')
    .argument('<source>', 'local image (name[:tag] or ID)')
    .argument('<target>', 'new reference, e.g. registry.example.com/team/app:1.4')
    .option('--json', 'print the result as JSON')
    .action(async (source: string, target: string, options: TagOptions) => {
      const { tagThroughEngine } = await import('../../registry/engine-ops/index.js');
      const { connectFromGlobals } = await import('../engine-options.js');
      const engine = await connectFromGlobals(rt);
      try {
        const result = await tagThroughEngine(engine, source, target, rt.signal);
        if (options.json) printJson(rt, result);
      } finally {
        await engine.close();
      }
    });
}

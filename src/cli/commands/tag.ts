import type { Command } from 'commander';
import { debug, log, printJson, printResult, type CliRuntime } from '../runtime.js';

interface TagOptions {
  json?: boolean;
  remote?: boolean;
  insecure?: boolean;
  caCert?: string;
}

/**
 * `imgtool tag SOURCE TARGET`: tags a local image in the engine (TARGET validated like the
 * docker CLI). `imgtool tag --remote REF NEWTAG` re-tags in the registry without pulling
 * (manifest GET, then PUT of the same bytes), for promotion in CI; it prints the digest.
 */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('tag')
    .description('Create a tag TARGET for the local image SOURCE; with --remote, tag REF as NEWTAG in the registry without pulling')
    .argument('<source>', 'local image (name[:tag] or ID); with --remote, the registry image (name:tag or name@digest)')
    .argument('<target>', 'new reference, e.g. registry.example.com/team/app:1.4; with --remote, the new tag only')
    .option('--remote', 're-tag in the registry (same repository, same digest) without pulling')
    .option('--insecure', 'with --remote: allow plain HTTP and unverified TLS for this registry')
    .option('--ca-cert <file>', 'with --remote: trust this CA certificate for the registry')
    .option('--json', 'print the result as JSON')
    .action(async (source: string, target: string, options: TagOptions) => {
      if (options.remote) {
        const { parseReference } = await import('../../image/reference.js');
        const { remoteTag } = await import('../../registry/remote-tag.js');
        const { resolveCredentials } = await import('../../registry/credentials/index.js');
        const ref = parseReference(source);
        const warn = (m: string): void => log(rt, `warning: ${m}`);
        const credentials = await resolveCredentials(ref.registry, { env: rt.env, signal: rt.signal, warn });
        const result = await remoteTag(ref, target, {
          signal: rt.signal,
          warn,
          log: (line) => debug(rt, line),
          ...(credentials === undefined ? {} : { credentials }),
          ...(options.insecure ? { insecure: true } : {}),
          ...(options.caCert ? { caFile: options.caCert } : {}),
        });
        if (options.json) printJson(rt, result);
        else printResult(rt, result.digest);
        return;
      }
      const { ImgtoolError } = await import('../../image/errors.js');
      if (options.insecure || options.caCert) throw new ImgtoolError('USAGE', '--insecure and --ca-cert only apply with --remote');
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

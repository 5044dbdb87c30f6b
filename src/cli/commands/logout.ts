import type { Command } from 'commander';
import { printJson, printResult, type CliRuntime } from '../runtime.js';

/** `imgtool logout [SERVER]`: removes stored credentials from config.json or the credential helper. */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('logout')
    .description('Remove stored credentials for a registry (Docker Hub by default) from config.json or its credential helper')
    .argument('[server]', 'registry host[:port]', 'docker.io')
    .option('--json', 'print the result as JSON')
    .action(async (server: string, options: { json?: boolean }) => {
      const { eraseCredentials } = await import('../../registry/credentials/index.js');
      const { normalizeRegistry } = await import('../../image/reference.js');
      const registry = normalizeRegistry(server);
      const result = await eraseCredentials(registry, { env: rt.env, signal: rt.signal, warn: (m) => rt.stderr.write(`warning: ${m}\n`) });
      if (options.json) printJson(rt, { registry, ...result });
      else printResult(rt, result.erased ? `Removing login credentials for ${registry}` : `Not logged in to ${registry}`);
    });
}

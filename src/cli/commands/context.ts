import type { Command } from 'commander';
import { Option } from 'commander';
import type { CliRuntime } from '../runtime.js';
import { builderFromEnv, parseBuildArgs, readAllStdin } from './build.js';

interface ContextLsOptions {
  file?: string;
  target?: string;
  buildArg: string[];
  platform?: string;
  builder?: 'classic' | 'buildkit';
  all?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * `imgtool context ls [DIR]`: the tar entries a build would send, one per line in tar order
 * (directories end in `/`). By default the minimal context `imgtool build` sends; `--all` the
 * full context the docker CLI sends. The engine, when reachable, is asked about base images
 * (ONBUILD triggers) exactly as `imgtool build` does.
 */
export function register(program: Command, rt: CliRuntime): void {
  const context = program.command('context').description('Inspect the build context');
  context
    .command('ls')
    .description('List the entries of the build context a build would send')
    .argument('[dir]', 'build context directory', '.')
    .option('-f, --file <path>', 'Dockerfile (default: DIR/Dockerfile; "-" reads it from stdin)')
    .option('--target <stage>', 'build target stage')
    .option('--build-arg <arg>', 'build-time variable NAME=value or NAME; repeatable', collect, [])
    .option('--platform <platform>', 'target platform os[/arch[/variant]]')
    .addOption(new Option('--builder <builder>', 'classic or buildkit (default: DOCKER_BUILDKIT, else the engine default)').choices(['classic', 'buildkit']))
    .option('--all', 'list the full context the docker CLI sends (everything not in .dockerignore)')
    .option('--json', 'print entries with sizes and the totals as JSON')
    .action(async (dir: string, options: ContextLsOptions) => {
      const { prepareBuildContext } = await import('../../build/build-context.js');
      const { contextTarSize } = await import('../../build/context/tar.js');
      const { connectFromGlobals } = await import('../engine-options.js');
      const { defaultBuilder } = await import('../../build/build.js');
      const { log, printJson, printResult } = await import('../runtime.js');
      const buildArgs = parseBuildArgs(options.buildArg, rt.env);

      // The engine is optional here: without it the decision is the Dockerfile's alone.
      let engine: Awaited<ReturnType<typeof connectFromGlobals>> | undefined;
      let builder = options.builder ?? builderFromEnv(rt.env);
      try {
        engine = await connectFromGlobals(rt);
        builder ??= await defaultBuilder(engine, rt.signal);
      } catch (err) {
        if (rt.signal.aborted) throw err;
        await engine?.close();
        engine = undefined;
        log(rt, `note: the engine is not reachable (${err instanceof Error ? err.message : String(err)}); deciding from the Dockerfile alone`);
      }
      try {
        const prepared = await prepareBuildContext({
          cwd: rt.cwd,
          contextDir: dir,
          builder: builder ?? 'buildkit',
          buildArgs,
          fullContext: options.all === true,
          signal: rt.signal,
          ...(engine ? { engine } : {}),
          ...(options.file === undefined ? {} : { dockerfile: options.file }),
          ...(options.file === '-' ? { readStdin: () => readAllStdin(rt) } : {}),
          ...(options.target === undefined ? {} : { target: options.target }),
          ...(options.platform === undefined ? {} : { platform: options.platform }),
        });
        for (const n of prepared.notes) if (engine) log(rt, `note: ${n}`);
        if (prepared.mode === 'full' && !options.all) log(rt, `the full context would be sent: ${prepared.fullReason ?? ''}`);
        const ctx = prepared.context;
        const rows = [
          ...prepared.entries.map((e) => ({
            path: e.type === 'dir' ? `${e.path}/` : e.path,
            type: e.type,
            size: e.type === 'file' ? (ctx.replace.get(e.path)?.length ?? e.size) : 0,
            ...(e.linkTarget === undefined ? {} : { linkTarget: e.linkTarget }),
          })),
          ...ctx.append.map((f) => ({ path: f.path, type: 'file' as const, size: f.content.length })),
        ];
        if (options.json) {
          printJson(rt, {
            mode: prepared.mode,
            ...(prepared.fullReason === undefined ? {} : { fullReason: options.all ? '--all was given' : prepared.fullReason }),
            builder: builder ?? 'buildkit',
            dockerfile: ctx.dockerfileName,
            ignoreFile: ctx.ignore.file ?? null,
            entries: rows,
            total: {
              entries: rows.length,
              bytes: rows.reduce((n, r) => n + r.size, 0),
              tarBytes: contextTarSize(prepared.entries, ctx.append, ctx.replace),
              fullContextEntries: ctx.entries.length + ctx.append.length,
              fullContextTarBytes: contextTarSize(ctx.entries, ctx.append, ctx.replace),
            },
          });
          return;
        }
        if (rows.length > 0) printResult(rt, rows.map((r) => r.path).join('\n'));
      } finally {
        await engine?.close();
      }
    });
}

import type { Command } from 'commander';
import { Option } from 'commander';
import { ImgtoolError } from '../../image/errors.js';
import type { CliRuntime } from '../runtime.js';

/** Options of `imgtool build`, as commander parses them. */
interface BuildCliOptions {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  label: string[];
  cache: boolean;
  pull?: boolean;
  platform?: string;
  network?: string;
  cacheFrom: string[];
  iidfile?: string;
  metadataFile?: string;
  builder?: 'classic' | 'buildkit';
  progress: 'auto' | 'plain' | 'json' | 'quiet';
  fullContext?: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * `--build-arg K=V` and `--build-arg K` (value from the environment, as the docker CLI does;
 * left undefined when the environment has none, so the ARG's default applies).
 */
export function parseBuildArgs(values: readonly string[], env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw usageError(`invalid --build-arg "${v}": the name is empty`, 'write --build-arg NAME=value or --build-arg NAME');
    if (eq < 0) out[v] = env[v];
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

/** `--label K=V` (`K` alone is an empty value, as in the docker CLI). */
function parseLabels(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq === 0) throw usageError(`invalid --label "${v}": the name is empty`, 'write --label NAME=value');
    if (eq < 0) out[v] = '';
    else out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

function usageError(message: string, hint: string): ImgtoolError {
  return new ImgtoolError('USAGE', message, { hint });
}

/** Reads all of stdin as UTF-8 (for `-f -`). */
export async function readAllStdin(rt: CliRuntime): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of rt.stdin as AsyncIterable<Buffer | string>) parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts).toString('utf8');
}

/** The builder to use when --builder is not given: DOCKER_BUILDKIT, then the engine's default. */
export function builderFromEnv(env: NodeJS.ProcessEnv): 'classic' | 'buildkit' | undefined {
  const v = env['DOCKER_BUILDKIT'];
  if (v === undefined || v === '') return undefined;
  return ['0', 'false', 'no', 'off'].includes(v.toLowerCase()) ? 'classic' : 'buildkit';
}

/** `imgtool build [DIR]`. */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('build')
    .description('Build an image from a Dockerfile; prints the image ID on stdout')
    .argument('[dir]', 'build context directory', '.')
    .option('-t, --tag <name>', 'name and optionally a tag (name:tag); repeatable', collect, [])
    .option('-f, --file <path>', 'Dockerfile (default: DIR/Dockerfile; "-" reads it from stdin)')
    .option('--build-arg <arg>', 'build-time variable NAME=value, or NAME to take it from the environment; repeatable', collect, [])
    .option('--target <stage>', 'build this stage and what it needs')
    .option('--label <label>', 'image label NAME=value; repeatable', collect, [])
    .option('--no-cache', 'do not use the build cache')
    .option('--pull', 'always try to pull newer versions of base images')
    .option('--platform <platform>', 'target platform os[/arch[/variant]]')
    .option('--network <mode>', 'network for RUN instructions (default, host, none, ...)')
    .option('--cache-from <image>', 'image to use as a cache source; repeatable', collect, [])
    .option('--iidfile <file>', 'write the image ID to this file')
    .option('--metadata-file <file>', 'write build metadata (image ID, tags, context bytes, duration) as JSON')
    .addOption(new Option('--builder <builder>', 'classic (API version=1) or buildkit (version=2); default: DOCKER_BUILDKIT, else the engine default').choices(['classic', 'buildkit']))
    .addOption(new Option('--progress <mode>', 'progress output on stderr').choices(['auto', 'plain', 'json', 'quiet']).default('auto'))
    .option('--full-context', 'send every file not in .dockerignore (as the docker CLI does) instead of only what the build reads')
    .option('--json', 'print the result (image ID, tags, context bytes, duration) as JSON instead of the bare image ID')
    .action(async (dir: string, options: BuildCliOptions) => runBuild(rt, dir, options));
}

async function runBuild(rt: CliRuntime, dir: string, options: BuildCliOptions): Promise<void> {
  const { parseReference } = await import('../../image/reference.js');
  const { log, printJson, printResult, isInteractive } = await import('../runtime.js');

  // Everything the user typed is checked before any request.
  for (const t of options.tag) {
    const ref = parseReference(t);
    if (ref.digest !== undefined) {
      throw new ImgtoolError('REFERENCE_INVALID', `invalid tag "${t}": a tag cannot contain a digest`, { hint: 'use name:tag with -t' });
    }
  }
  const buildArgs = parseBuildArgs(options.buildArg, rt.env);
  const labels = parseLabels(options.label);

  const { buildImage, defaultBuilder } = await import('../../build/build.js');
  const { createRenderer } = await import('../../build/progress/render.js');
  const { connectFromGlobals } = await import('../engine-options.js');
  const mode = options.progress === 'auto' ? (isInteractive(rt) ? 'tty' : 'plain') : options.progress;
  const renderer = await createRenderer(mode, rt.stderr);
  const chatty = mode === 'plain' || mode === 'tty';

  // A Dockerfile or .dockerignore error must stop the build before anything reaches the engine.
  const { checkBuildInputs } = await import('../../build/build-context.js');
  const readStdin = options.file === '-' ? () => readAllStdin(rt) : undefined;
  let stdinText: string | undefined;
  const cachedStdin = readStdin
    ? async (): Promise<string> => {
        stdinText ??= await readStdin();
        return stdinText;
      }
    : undefined;
  await checkBuildInputs({
    cwd: rt.cwd,
    contextDir: dir,
    builder: options.builder ?? builderFromEnv(rt.env) ?? 'buildkit',
    ...(options.file === undefined ? {} : { dockerfile: options.file }),
    ...(cachedStdin ? { readStdin: cachedStdin } : {}),
    ...(options.target === undefined ? {} : { target: options.target }),
    buildArgs,
    ...(options.platform === undefined ? {} : { platform: options.platform }),
    signal: rt.signal,
  });

  const engine = await connectFromGlobals(rt);
  try {
    const builder = options.builder ?? builderFromEnv(rt.env) ?? (await defaultBuilder(engine, rt.signal));
    const registryConfig = await registryConfigHeader(rt);
    try {
      const result = await buildImage({
        engine,
        cwd: rt.cwd,
        contextDir: dir,
        builder,
        buildArgs,
        labels,
        tags: options.tag,
        noCache: !options.cache,
        pull: options.pull === true,
        fullContext: options.fullContext === true,
        signal: rt.signal,
        ...(options.file === undefined ? {} : { dockerfile: options.file }),
        ...(cachedStdin ? { readStdin: cachedStdin } : {}),
        ...(options.target === undefined ? {} : { target: options.target }),
        ...(options.platform === undefined ? {} : { platform: options.platform }),
        ...(options.network === undefined ? {} : { network: options.network }),
        ...(options.cacheFrom.length > 0 ? { cacheFrom: options.cacheFrom } : {}),
        ...(registryConfig === undefined ? {} : { registryConfig }),
        onContext: (prepared, b) => {
          for (const n of prepared.notes) log(rt, `note: ${n}`);
          if (prepared.mode === 'full' && !options.fullContext) log(rt, `sending the full context: ${prepared.fullReason ?? 'unknown reason'}`);
          if (chatty) {
            for (const w of prepared.plan.warnings) log(rt, `warning: ${w.line === undefined ? '' : `${prepared.input.dockerfileDisplay}:${w.line}: `}${w.message} [${w.code} ${w.rule}]`);
            log(rt, `building with ${b === 'buildkit' ? 'BuildKit' : 'the classic builder'}, ${prepared.mode} context: ${prepared.entries.length} entries`);
          }
        },
        onProgress: (msg, events) => {
          renderer.message(msg);
          for (const e of events) renderer.event(e);
        },
      });
      renderer.end();
      if (chatty) log(rt, `context sent: ${result.contextBytes} bytes (${result.contextMode}), built in ${(result.durationMs / 1000).toFixed(1)}s`);
      if (options.iidfile) {
        const { writeFile } = await import('node:fs/promises');
        const { resolve } = await import('node:path');
        await writeFile(resolve(rt.cwd, options.iidfile), result.imageId);
      }
      const metadata = {
        imageId: result.imageId,
        tags: result.tags,
        builder: result.builder,
        contextBytes: result.contextBytes,
        contextEntries: result.contextEntries,
        contextMode: result.contextMode,
        ...(result.fullContextReason === undefined ? {} : { fullContextReason: result.fullContextReason }),
        durationMs: result.durationMs,
      };
      if (options.metadataFile) {
        const { writeFile } = await import('node:fs/promises');
        const { resolve } = await import('node:path');
        await writeFile(resolve(rt.cwd, options.metadataFile), `${JSON.stringify(metadata, null, 2)}\n`);
      }
      if (options.json) printJson(rt, metadata);
      else printResult(rt, result.imageId);
    } catch (err) {
      renderer.end(err instanceof Error ? err.message : String(err));
      throw err;
    }
  } finally {
    await engine.close();
  }
}

/** `X-Registry-Config` from the user's docker credentials (only when there are some). */
async function registryConfigHeader(rt: CliRuntime): Promise<string | undefined> {
  const { allCredentialsForBuild, encodeRegistryConfig } = await import('../../registry/credentials/index.js');
  const { log } = await import('../runtime.js');
  const creds = await allCredentialsForBuild({ env: rt.env, signal: rt.signal, warn: (m) => log(rt, `warning: ${m}`) });
  return Object.keys(creds).length === 0 ? undefined : encodeRegistryConfig(creds);
}

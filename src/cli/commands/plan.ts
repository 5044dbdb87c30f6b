import type { Command } from 'commander';
import type { BuildPlan, LintWarning, PlannedInstruction } from '../../build/plan/types.js';
import { printJson, printResult, type CliRuntime } from '../runtime.js';

interface PlanOptions {
  file?: string;
  target?: string;
  buildArg: string[];
  platform?: string;
  builder?: string;
  json?: boolean;
}

/** Context facts shown next to the plan. */
interface ContextReport {
  readonly dir: string;
  /** The ignore file in effect, or null. */
  readonly dockerignore: string | null;
  /** Entries and bytes the full (docker CLI) context sends. */
  readonly totalPaths: number;
  readonly totalBytes: number;
  /** Per COPY/ADD/RUN --mount of the needed stages: the context paths it reads. */
  readonly reads: readonly { line: number; instruction: string; sources: readonly string[]; paths: readonly string[] }[];
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * `imgtool plan [DIR]`: what a build of DIR would do, without an engine: stages (needed or
 * skipped for the target), instructions and the layers they create, the context paths each
 * COPY/ADD reads (after .dockerignore), and lint warnings. `--json` prints the BuildPlan.
 */
export function register(program: Command, rt: CliRuntime): void {
  program
    .command('plan')
    .description('Show what building a Dockerfile would do: stages, layers, context reads, warnings')
    .argument('[dir]', 'build context directory', '.')
    .option('-f, --file <path>', 'Dockerfile (default DIR/Dockerfile; - reads stdin)')
    .option('--target <stage>', 'build this stage (default: the last one)')
    .option('--build-arg <key[=value]>', 'set a build ARG; KEY alone takes the value from the environment', collect, [])
    .option('--platform <os/arch[/variant]>', 'target platform (feeds TARGETPLATFORM, TARGETARCH...)')
    .option('--builder <classic|buildkit>', 'the builder the build will use (classic warns about BuildKit-only features)')
    .option('--json', 'print the plan as JSON')
    .action(async (dir: string, options: PlanOptions) => {
      const { planBuild, matchContextSources } = await import('../../build/plan/index.js');
      const { resolveBuildInput, loadContext } = await import('../../build/context/source.js');
      const { ImgtoolError } = await import('../../image/errors.js');
      if (options.builder !== undefined && options.builder !== 'classic' && options.builder !== 'buildkit') {
        throw new ImgtoolError('USAGE', `--builder ${options.builder}: expected classic or buildkit`, { hint: 'use --builder classic or --builder buildkit' });
      }
      const buildArgs = parseBuildArgs(options.buildArg, rt.env, (m, h) => new ImgtoolError('USAGE', m, { hint: h }));
      const input = await resolveBuildInput({
        cwd: rt.cwd,
        contextDir: dir,
        ...(options.file === undefined ? {} : { dockerfile: options.file }),
        readStdin: () => readAll(rt.stdin),
        signal: rt.signal,
      });
      const ctx = await loadContext(input, rt.signal);
      const paths = ctx.entries.map((e) => e.path);
      const totalBytes = ctx.entries.reduce((n, e) => n + e.size, 0);
      const plan = planBuild({
        dockerfileText: input.dockerfileText,
        dockerfilePath: input.dockerfileDisplay,
        buildArgs,
        ...(options.target === undefined ? {} : { target: options.target }),
        ...(options.platform === undefined ? {} : { platform: options.platform }),
        ...(options.builder === undefined ? {} : { builder: options.builder as 'classic' | 'buildkit' }),
        contextInfo: { hasDockerignore: ctx.ignore.file !== undefined, totalBytes },
        contextPaths: paths,
      });
      const files = ctx.entries.filter((e) => e.type !== 'dir').map((e) => e.path);
      const report: ContextReport = {
        dir: input.contextDir,
        dockerignore: ctx.ignore.file ?? null,
        totalPaths: ctx.entries.length,
        totalBytes,
        reads: plan.contextReads.map((r) => ({
          line: r.line,
          instruction: r.instruction,
          sources: r.sources,
          paths: [...matchContextSources(r.sources, files, { includeAncestors: false })],
        })),
      };
      if (options.json) printJson(rt, { ...plan, context: report });
      else printResult(rt, renderPlan(plan, report));
    });
}

/** `--build-arg K=V` / `--build-arg K` (value from the environment, undefined when unset). */
export function parseBuildArgs(
  values: readonly string[],
  env: NodeJS.ProcessEnv,
  usage: (message: string, hint: string) => Error,
): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq < 0 ? v : v.slice(0, eq);
    if (key === '') throw usage(`--build-arg ${v}: the name is empty`, 'use --build-arg NAME=value or --build-arg NAME');
    out[key] = eq < 0 ? env[key] : v.slice(eq + 1);
  }
  return out;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

const LIST_LIMIT = 10;

function layerNote(i: PlannedInstruction): string {
  if (i.layer === 'filesystem') return '+layer';
  if (i.layer === 'conditional') return '+layer (BuildKit; classic: only for a new directory)';
  return '';
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function warningLine(file: string, w: LintWarning): string {
  return `  ${w.line === undefined ? file : `${file}:${w.line}`}: ${w.code} ${w.rule}: ${w.message}`;
}

/** The plan as text: a header, each stage with its instructions, context reads, warnings. */
export function renderPlan(plan: BuildPlan, ctx: ContextReport): string {
  const out: string[] = [];
  const stageLabel = (i: number): string => {
    const s = plan.stages[i];
    return s?.name === undefined ? `#${i}` : `${s.name} (#${i})`;
  };
  out.push(`Dockerfile: ${plan.dockerfilePath}${plan.syntax ? ` (syntax ${plan.syntax})` : ''}`);
  out.push(
    `Target: ${stageLabel(plan.target.index)}; BuildKit builds ${plan.neededStages.map(stageLabel).join(', ')}; the classic builder builds every stage up to the target`,
  );
  const readsByLine = new Map<number, (typeof ctx.reads)[number][]>();
  for (const r of ctx.reads) readsByLine.set(r.line, [...(readsByLine.get(r.line) ?? []), r]);
  for (const s of plan.stages) {
    out.push('');
    out.push(`Stage ${stageLabel(s.index)}: FROM ${s.base}${s.baseIsStage ? ' (stage)' : ''}${s.platform ? ` --platform=${s.platform}` : ''}  [${s.needed ? 'needed' : 'skipped'}]`);
    for (const i of s.instructions) {
      const note = layerNote(i);
      const text = i.text.length > 100 ? `${i.text.slice(0, 97)}...` : i.text;
      out.push(`  ${String(i.line).padStart(4)}  ${text}${note ? `   ${note}` : ''}`);
      for (const r of readsByLine.get(i.line) ?? []) {
        const shown = r.paths.slice(0, LIST_LIMIT).join(', ');
        const more = r.paths.length > LIST_LIMIT ? `, ... (${r.paths.length - LIST_LIMIT} more)` : '';
        out.push(`        reads ${r.sources.join(' ')}: ${r.paths.length === 0 ? 'no file in the context matches' : `${r.paths.length} file${r.paths.length === 1 ? '' : 's'}: ${shown}${more}`}`);
      }
    }
  }
  out.push('');
  const read = new Set(ctx.reads.flatMap((r) => r.paths));
  out.push(
    `Context: ${ctx.dir} (${ctx.totalPaths} entries, ${formatBytes(ctx.totalBytes)}; .dockerignore: ${ctx.dockerignore ?? 'none'}); the needed stages read ${read.size} file${read.size === 1 ? '' : 's'}`,
  );
  if (plan.readsWholeContext) out.push(`  the whole context is needed: line ${plan.readsWholeContext.line}: ${plan.readsWholeContext.reason}`);
  if (plan.externalImages.length > 0) out.push(`Images: ${plan.externalImages.join(', ')}`);
  if (plan.warnings.length > 0) {
    out.push('');
    out.push(`Warnings (${plan.warnings.length}):`);
    for (const w of plan.warnings) out.push(warningLine(plan.dockerfilePath, w));
  } else {
    out.push('No warnings.');
  }
  return out.join('\n');
}

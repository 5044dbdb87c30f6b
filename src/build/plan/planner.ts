/**
 * planBuild: from a Dockerfile's text to a {@link BuildPlan}, predicting what the builder will
 * do: stages and their bases, ARG/ENV scoping and expansion, the stages a `--target` needs, the
 * context paths each needed COPY/ADD/RUN --mount reads, and lint findings. Errors the builder
 * would stop on are thrown as ImgtoolError before anything is sent.
 *
 * Where the two builders differ, the plan follows BuildKit (the default builder since Engine
 * 23) and says so: classic builds every stage (allStages), BuildKit only the needed ones.
 */
import { ImgtoolError } from '../../image/errors.js';
import { parseReference } from '../../image/reference.js';
import { dockerfileError } from './errors.js';
import { flagBool, flagString, flagStrings, parseFlags, parseMount, type FlagValues } from './flags.js';
import { cleanSourcePath } from './match.js';
import { lintPlan, type LintInput } from './lint.js';
import { parseDockerfile, parseHeredocWord, type ParsedNode } from './parser.js';
import { PLATFORM_ARG_NAMES, PREDEFINED_PROXY_ARGS, platformArgs } from './platform-args.js';
import { isSecretName } from './secrets.js';
import { ShellLexError, processWord } from './shell-lex.js';
import type {
  BuildPlan,
  ContextRead,
  CopyDetails,
  CopySource,
  LayerEffect,
  PlanBuildOptions,
  PlanStage,
  PlannedInstruction,
  RunMount,
} from './types.js';

/** Variables whose value the planner could not know while expanding one word. */
interface Uncertainty {
  /** Automatic platform ARGs without a platform option. */
  readonly platform: Set<string>;
  /** Not set by the Dockerfile; an external base image may set them. */
  readonly baseImage: Set<string>;
}

/** The variables in scope at one point of a stage (or the global scope before FROM). */
interface Scope {
  readonly env: Map<string, string>;
  /** Names set to a value the planner cannot know (platform ARGs). */
  readonly unknown: Set<string>;
  /** False when an external base image may define more variables. */
  complete: boolean;
  /** ARG names declared in this stage. */
  readonly declared: Set<string>;
}

/** One instruction during planning, with what lint needs. */
export interface InternalInstruction {
  readonly node: ParsedNode;
  readonly stage: number;
  planned: PlannedInstruction;
  /** ARG/ENV/LABEL pairs after expansion (ARG: the effective value). */
  pairs?: { key: string; value: string | undefined }[];
}

/** One stage during planning. */
export interface InternalStage {
  readonly index: number;
  readonly name: string | undefined;
  readonly fromNode: ParsedNode;
  base: string;
  baseIsStage: boolean;
  baseStage: number | undefined;
  platform: string | undefined;
  readonly instructions: InternalInstruction[];
  readonly deps: Map<number, number>; // stage index → line that needs it
  readonly externalImages: string[];
  readonly contextReads: ContextRead[];
  wholeContext: { reason: string; line: number } | undefined;
  /** The first error found in this stage; thrown only if the stage is needed. */
  error: ImgtoolError | undefined;
  /** Scope at the end of the stage, inherited by stages built FROM it. */
  scope: Scope | undefined;
}

const SCRATCH = 'scratch';
const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

/** Plans a build; throws ImgtoolError DOCKERFILE_SYNTAX/DOCKERFILE_INVALID on what the builder rejects. */
export function planBuild(options: PlanBuildOptions): BuildPlan {
  const file = options.dockerfilePath;
  const parsed = parseDockerfile(options.dockerfileText, file);
  const escapeChar = parsed.directives.escapeChar;
  const buildArgs = definedBuildArgs(options.buildArgs);
  const secrets = new Set<string>();
  for (const [k, v] of buildArgs) if (isSecretName(k) && v.length > 0) secrets.add(v);

  const platform = platformArgs(options.platform, options.buildPlatform);

  // Instructions before the first FROM: only ARG may be there.
  const firstFrom = parsed.nodes.findIndex((n) => n.keyword === 'from');
  const preamble = firstFrom < 0 ? parsed.nodes : parsed.nodes.slice(0, firstFrom);
  for (const n of preamble) {
    if (n.keyword !== 'arg' && n.known) {
      throw dockerfileError('DOCKERFILE_INVALID', file, n.startLine, `${n.keyword.toUpperCase()} before the first FROM: only ARG may come before FROM`, {
        hint: 'start the build stage with FROM <image>',
      });
    }
  }
  if (firstFrom < 0) {
    const unknownFirst = parsed.nodes.find((n) => !n.known);
    if (unknownFirst) throw unknownInstruction(file, unknownFirst);
    throw dockerfileError('DOCKERFILE_INVALID', file, undefined, 'the Dockerfile has no FROM instruction: there is no stage to build', {
      hint: 'add FROM <image> (or FROM scratch) before the build instructions',
    });
  }

  // Global scope: automatic platform ARGs, then ARGs before FROM (with --build-arg overrides).
  const global: Scope = { env: new Map(platform.values), unknown: new Set(platform.unknown), complete: true, declared: new Set() };
  const declaredArgs = new Set<string>();
  const globalArgNodes: InternalInstruction[] = [];
  for (const n of preamble) {
    if (!n.known) continue;
    let inst: InternalInstruction;
    try {
      inst = planArg(n, -1, global, { file, escapeChar, buildArgs, globalScope: undefined, secrets });
    } catch (err) {
      throw expansionError(file, n, err);
    }
    for (const p of inst.pairs ?? []) declaredArgs.add(p.key);
    globalArgNodes.push(inst);
  }

  // Stages.
  const stageNodes: ParsedNode[][] = [];
  for (const n of parsed.nodes.slice(firstFrom)) {
    if (n.keyword === 'from') stageNodes.push([n]);
    else stageNodes[stageNodes.length - 1]?.push(n);
  }
  const names = stageNodes.map(([from], index) => stageName(file, from as ParsedNode, index));
  const seenNames = new Map<string, number>();
  names.forEach((name, i) => {
    if (name === undefined) return;
    const prev = seenNames.get(name);
    if (prev !== undefined) {
      const line = stageNodes[i]?.[0]?.startLine;
      throw dockerfileError('DOCKERFILE_INVALID', file, line, `duplicate stage name "${name}" (also stage ${prev} on line ${stageNodes[prev]?.[0]?.startLine})`, {
        hint: 'give every stage its own name',
      });
    }
    seenNames.set(name, i);
  });

  const ctx: StageContext = {
    file,
    escapeChar,
    buildArgs,
    globalScope: global,
    secrets,
    names,
    stageCount: stageNodes.length,
    baseImageEnv: options.baseImageEnv ?? {},
  };
  const stages: InternalStage[] = [];
  stageNodes.forEach((nodes, index) => {
    const stage = planStage(nodes, index, stages, ctx);
    for (const inst of stage.instructions) if (inst.node.keyword === 'arg') for (const p of inst.pairs ?? []) declaredArgs.add(p.key);
    stages.push(stage);
  });

  // Unknown instructions are lint errors the builder fails on: report them with the rest.
  // Target and the stages it needs.
  let targetIndex = stages.length - 1;
  if (options.target !== undefined && options.target !== '') {
    const wanted = options.target.toLowerCase();
    const found = stages.findIndex((s) => s.name === wanted);
    if (found < 0) {
      throw dockerfileError('DOCKERFILE_INVALID', file, undefined, `target stage "${options.target}" could not be found; ${knownStages(names)}`, {
        hint: suggestion(wanted, names) ?? 'pass --target with one of the stage names (FROM ... AS <name>)',
        details: { stages: names.filter((n): n is string => n !== undefined) },
      });
    }
    targetIndex = found;
  }
  checkCycles(stages, file);
  const needed = new Set<number>();
  const visit = (i: number): void => {
    if (needed.has(i)) return;
    needed.add(i);
    for (const d of stages[i]?.deps.keys() ?? []) visit(d);
  };
  visit(targetIndex);
  const neededStages = [...needed].sort((a, b) => a - b);
  for (const i of neededStages) {
    const err = stages[i]?.error;
    if (err) throw err;
  }

  // Reads of the context and external images, from needed stages only.
  const contextReads: ContextRead[] = [];
  const externalImages: string[] = [];
  let readsWholeContext: { reason: string; line: number } | undefined;
  for (const i of neededStages) {
    const s = stages[i] as InternalStage;
    contextReads.push(...s.contextReads);
    for (const img of s.externalImages) if (!externalImages.includes(img)) externalImages.push(img);
    if (s.wholeContext && readsWholeContext === undefined) readsWholeContext = s.wholeContext;
  }

  const unusedBuildArgs = [...buildArgs.keys()].filter(
    (k) => !declaredArgs.has(k) && !PREDEFINED_PROXY_ARGS.has(k) && !k.startsWith('BUILDKIT_'),
  );

  const lintInput: LintInput = {
    file,
    directives: parsed.directives,
    nodes: parsed.nodes,
    globalArgs: globalArgNodes,
    stages,
    needed,
    contextReads,
    unusedBuildArgs,
    options,
  };
  const warnings = lintPlan(lintInput);
  const firstError = warnings.find((w) => w.severity === 'error');
  if (firstError) {
    const node = parsed.nodes.find((n) => n.startLine === firstError.line);
    if (node && !node.known) throw unknownInstruction(file, node, warnings);
    throw dockerfileError('DOCKERFILE_SYNTAX', file, firstError.line, firstError.message, { details: { rule: firstError.code, warnings } });
  }

  const redact = redactor(secrets);
  const planStages: PlanStage[] = stages.map((s) => ({
    index: s.index,
    ...(s.name === undefined ? {} : { name: s.name }),
    base: s.base,
    baseIsStage: s.baseIsStage,
    ...(s.baseStage === undefined ? {} : { baseStage: s.baseStage }),
    ...(s.platform === undefined ? {} : { platform: s.platform }),
    needed: needed.has(s.index),
    line: s.fromNode.startLine,
    instructions: s.instructions.map((i) => redact(i.planned)),
  }));
  const targetStage = stages[targetIndex] as InternalStage;
  return redactDeep(secrets, {
    dockerfilePath: file,
    ...(parsed.directives.syntax ? { syntax: parsed.directives.syntax.value } : {}),
    escapeChar,
    stages: planStages,
    target: { index: targetIndex, ...(targetStage.name === undefined ? {} : { name: targetStage.name }) },
    neededStages,
    allStages: stages.map((s) => s.index),
    contextReads,
    ...(readsWholeContext ? { readsWholeContext } : {}),
    externalImages,
    unusedBuildArgs,
    warnings,
  });
}

// Every string of the plan goes through the secret filter (mount sources, context reads...).
function redactDeep<T>(secrets: ReadonlySet<string>, value: T): T {
  const values = [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  if (values.length === 0) return value;
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return values.reduce((out, secret) => out.split(secret).join('***'), v);
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

interface StageContext {
  readonly file: string;
  readonly escapeChar: string;
  readonly buildArgs: Map<string, string>;
  readonly globalScope: Scope | undefined;
  readonly secrets: Set<string>;
  readonly names?: readonly (string | undefined)[];
  readonly stageCount?: number;
  readonly baseImageEnv?: Readonly<Record<string, readonly string[]>>;
}

function definedBuildArgs(args: PlanBuildOptions['buildArgs']): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(args ?? {})) if (v !== undefined) out.set(k, v);
  return out;
}

function stageName(file: string, from: ParsedNode, index: number): string | undefined {
  const args = from.args;
  if (args.length !== 1 && args.length !== 3) {
    throw dockerfileError('DOCKERFILE_SYNTAX', file, from.startLine, 'FROM requires either one or three arguments: FROM <image> [AS <name>]');
  }
  if (args.length === 1) return undefined;
  if ((args[1] ?? '').toLowerCase() !== 'as') {
    throw dockerfileError('DOCKERFILE_SYNTAX', file, from.startLine, `FROM expects "AS" as its second argument, not "${args[1]}"`);
  }
  const name = (args[2] ?? '').toLowerCase();
  if (!STAGE_NAME_RE.test(name)) {
    throw dockerfileError('DOCKERFILE_INVALID', file, from.startLine, `invalid name for build stage: "${args[2]}", name can't start with a number or contain symbols`, {
      hint: `stage names match [a-z][a-z0-9-_.]* (stage ${index})`,
    });
  }
  return name;
}

function knownStages(names: readonly (string | undefined)[]): string {
  const named = names.filter((n): n is string => n !== undefined);
  return named.length === 0 ? 'the Dockerfile has no named stages' : `stages: ${named.join(', ')}`;
}

function unknownInstruction(file: string, node: ParsedNode, warnings?: unknown): ImgtoolError {
  const guess = suggestion(node.keyword, ['add', 'arg', 'cmd', 'copy', 'entrypoint', 'env', 'expose', 'from', 'healthcheck', 'label', 'maintainer', 'onbuild', 'run', 'shell', 'stopsignal', 'user', 'volume', 'workdir']);
  return dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `unknown instruction: ${node.keyword.toUpperCase()}`, {
    hint: guess ? guess.replace(/"([a-z]+)"/, (_m, k: string) => `"${k.toUpperCase()}"`) : 'instructions are FROM, RUN, COPY, ADD, ENV, ARG, WORKDIR, USER, CMD, ENTRYPOINT, ...',
    details: { rule: 'IMG010', ...(warnings === undefined ? {} : { warnings }) },
  });
}

/** "did you mean X?" for a near miss (edit distance ≤ 2, ≤ 1 for short words). */
export function suggestion(word: string, candidates: readonly (string | undefined)[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    if (c === undefined) continue;
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    const limit = c.length >= 5 ? 2 : 1;
    if (d <= limit && (best === undefined || d < best.d)) best = { c, d };
  }
  return best ? `did you mean "${best.c}"?` : undefined;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}

/** Expands one word in a scope, recording the variables it could not know. */
function expand(word: string, scope: Scope, escapeChar: string, u: Uncertainty): string {
  const placeholders = new Set<string>();
  for (let attempt = 0; ; attempt++) {
    const lookup = (name: string): string | undefined => {
      const v = scope.env.get(name);
      if (v !== undefined) return v;
      if (scope.unknown.has(name) || placeholders.has(name)) {
        if (scope.unknown.has(name)) u.platform.add(name);
        else u.baseImage.add(name);
        return `\${${name}}`;
      }
      if (!scope.complete) u.baseImage.add(name);
      return undefined;
    };
    try {
      return processWord(word, lookup, { escapeChar }).result;
    } catch (err) {
      // ${X:?} on a variable only the (unknown) base image could set: the planner cannot tell.
      if (
        err instanceof ShellLexError &&
        err.variable !== undefined &&
        !scope.complete &&
        !scope.env.has(err.variable) &&
        !scope.declared.has(err.variable) &&
        !placeholders.has(err.variable) &&
        attempt < 32
      ) {
        placeholders.add(err.variable);
        continue;
      }
      throw err;
    }
  }
}

const newUncertainty = (): Uncertainty => ({ platform: new Set(), baseImage: new Set() });

/** Turns a lexer failure into the error the builder gives, at the instruction's line. */
function expansionError(file: string, node: ParsedNode, err: unknown): ImgtoolError {
  if (err instanceof ShellLexError) {
    if (err.variable !== undefined) {
      return dockerfileError('DOCKERFILE_INVALID', file, node.startLine, `${node.keyword.toUpperCase()}: required variable ${err.variable} is missing: ${err.message.replace(/^failed to process "[^]*?": /, '')}`, {
        hint: `set it with --build-arg ${err.variable}=<value> (or give the ARG a default)`,
        details: { variable: err.variable },
      });
    }
    return dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${node.keyword.toUpperCase()}: ${err.message}`);
  }
  if (err instanceof ImgtoolError) return err;
  return dockerfileError('DOCKERFILE_INVALID', file, node.startLine, String(err));
}

/** ARG, in the global scope (`globalScope` undefined) or in a stage. */
function planArg(node: ParsedNode, stage: number, scope: Scope, ctx: StageContext): InternalInstruction {
  const { file, escapeChar } = ctx;
  if (node.flags.length > 0) {
    const f = parseFlags('arg', node.flags);
    if ('error' in f) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `ARG: ${f.error}`);
  }
  if (node.args.length === 0) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'ARG requires at least one argument');
  const u = newUncertainty();
  // The builder expands every pair with the scope as it was before the instruction.
  const declared: { key: string; value: string | undefined }[] = node.args.map((arg) => {
    const eq = arg.indexOf('=');
    const rawKey = eq >= 0 ? arg.slice(0, eq) : arg;
    if (eq === 0) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'ARG names can not be blank');
    const key = expand(rawKey, scope, escapeChar, u);
    const value = eq >= 0 ? expand(arg.slice(eq + 1), scope, escapeChar, u) : undefined;
    return { key, value };
  });
  const pairs: { key: string; value: string | undefined }[] = [];
  for (const { key, value: def } of declared) {
    let value = ctx.buildArgs.get(key) ?? def;
    let unknown = false;
    if (value === undefined && ctx.globalScope !== undefined) {
      // A stage ARG without a value takes the global one (build arg already applied there).
      value = ctx.globalScope.env.get(key);
      unknown = value === undefined && ctx.globalScope.unknown.has(key);
    }
    if (value !== undefined) {
      scope.env.set(key, value);
      scope.unknown.delete(key);
    } else if (unknown) {
      scope.unknown.add(key);
    }
    scope.declared.add(key);
    if (isSecretName(key) && value) ctx.secrets.add(value);
    pairs.push({ key, value });
  }
  const planned = instruction(node, {
    args: pairs.map((p) => (p.value === undefined ? p.key : `${p.key}=${p.value}`)),
    ...secretFreeText(node),
  });
  return { node, stage, planned, pairs };
}

function planStage(nodes: readonly ParsedNode[], index: number, earlier: readonly InternalStage[], ctx: StageContext): InternalStage {
  const from = nodes[0] as ParsedNode;
  const name = ctx.names?.[index];
  const stage: InternalStage = {
    index,
    name,
    fromNode: from,
    base: from.args[0] ?? '',
    baseIsStage: false,
    baseStage: undefined,
    platform: undefined,
    instructions: [],
    deps: new Map(),
    externalImages: [],
    contextReads: [],
    wholeContext: undefined,
    error: undefined,
    scope: undefined,
  };
  const fail = (err: unknown, node: ParsedNode): void => {
    if (stage.error === undefined) stage.error = expansionError(ctx.file, node, err);
  };
  let scope: Scope = { env: new Map(), unknown: new Set(), complete: false, declared: new Set() };

  // FROM expands with the global scope only.
  try {
    const flags = flagsOf(ctx.file, from);
    const u = newUncertainty();
    const globalScope = ctx.globalScope as Scope;
    const base = expand(from.args[0] ?? '', globalScope, ctx.escapeChar, u);
    if (base === '') {
      throw dockerfileError('DOCKERFILE_INVALID', ctx.file, from.startLine, `base name (${from.args[0] ?? ''}) should not be blank`, {
        hint: 'the variable in FROM expanded to nothing: declare it with ARG before the first FROM, with a default or a --build-arg',
      });
    }
    stage.base = base;
    const p = flagString(flags, 'platform');
    if (p !== undefined) stage.platform = expand(p, globalScope, ctx.escapeChar, u);
    const baseLower = base.toLowerCase();
    const baseStage = earlier.find((s) => s.name !== undefined && s.name === baseLower);
    if (baseStage) {
      stage.baseIsStage = true;
      stage.baseStage = baseStage.index;
      stage.deps.set(baseStage.index, from.startLine);
      const parent = baseStage.scope;
      // BuildKit carries the parent stage's ENV and ARG values into the child stage.
      scope = parent
        ? { env: new Map(parent.env), unknown: new Set(parent.unknown), complete: parent.complete, declared: new Set() }
        : scope;
    } else if (base === SCRATCH) {
      scope.complete = true;
    } else {
      // A base holding a value only the engine knows (e.g. $TARGETARCH without --platform) is
      // checked by the builder, not here.
      if (u.platform.size === 0) checkImageReference(ctx.file, from, base, 'FROM');
      stage.externalImages.push(base);
      const env = ctx.baseImageEnv?.[base];
      if (env) {
        for (const kv of env) {
          const eq = kv.indexOf('=');
          if (eq > 0) scope.env.set(kv.slice(0, eq), kv.slice(eq + 1));
        }
        scope.complete = true;
      }
    }
    stage.instructions.push({
      node: from,
      stage: index,
      planned: instruction(from, {
        args: name === undefined ? [base] : [base, 'AS', name],
        flags: stage.platform === undefined ? {} : { platform: stage.platform },
      }),
    });
  } catch (err) {
    fail(err, from);
    stage.instructions.push({ node: from, stage: index, planned: instruction(from, {}) });
  }

  for (const node of nodes.slice(1)) {
    try {
      stage.instructions.push(planInstruction(node, stage, scope, ctx));
    } catch (err) {
      fail(err, node);
      stage.instructions.push({ node, stage: index, planned: instruction(node, {}) });
    }
  }
  stage.scope = scope;
  return stage;
}

function flagsOf(file: string, node: ParsedNode): FlagValues {
  const f = parseFlags(node.keyword, node.flags);
  if ('error' in f) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${node.keyword.toUpperCase()}: ${f.error}`);
  return f.values;
}

function checkImageReference(file: string, node: ParsedNode, ref: string, what: string): void {
  try {
    parseReference(ref, { defaultTag: false });
  } catch (err) {
    throw dockerfileError('DOCKERFILE_INVALID', file, node.startLine, `${what} ${ref}: not a valid image reference: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

const LAYERS: Record<string, LayerEffect> = { run: 'filesystem', copy: 'filesystem', add: 'filesystem', workdir: 'conditional' };

function instruction(
  node: ParsedNode,
  parts: {
    args?: readonly string[];
    flags?: Record<string, string | readonly string[]>;
    copy?: CopyDetails;
    mounts?: readonly RunMount[];
    text?: string;
  },
): PlannedInstruction {
  const layer = LAYERS[node.keyword] ?? 'none';
  return {
    line: node.startLine,
    endLine: node.endLine,
    keyword: node.keyword.toUpperCase(),
    text: parts.text ?? node.original,
    args: parts.args ?? node.args,
    flags: parts.flags ?? rawFlags(node),
    json: node.json,
    heredocs: node.heredocs.map((h) => ({ name: h.name, expand: h.expand, bytes: Buffer.byteLength(h.content) })),
    layer,
    createsLayer: layer === 'filesystem',
    ...(parts.copy ? { copy: parts.copy } : {}),
    ...(parts.mounts && parts.mounts.length > 0 ? { mounts: parts.mounts } : {}),
  };
}

function rawFlags(node: ParsedNode): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const f of node.flags) {
    const body = f.replace(/^--/, '');
    const eq = body.indexOf('=');
    const k = eq >= 0 ? body.slice(0, eq) : body;
    const v = eq >= 0 ? body.slice(eq + 1) : 'true';
    const prev = out[k];
    out[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
  }
  return out;
}

const displayFlags = (v: FlagValues): Record<string, string | string[]> =>
  Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'boolean' ? String(x) : x]));

function requireArgs(file: string, node: ParsedNode, exactly?: number): void {
  const kw = node.keyword.toUpperCase();
  if (exactly !== undefined && node.args.length !== exactly) {
    throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${kw} requires exactly ${exactly === 1 ? 'one argument' : `${exactly} arguments`}`);
  }
  if (node.args.length === 0) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${kw} requires at least one argument`);
}

function planInstruction(node: ParsedNode, stage: InternalStage, scope: Scope, ctx: StageContext): InternalInstruction {
  const { file, escapeChar } = ctx;
  const kw = node.keyword;
  const base = { node, stage: stage.index };
  if (!node.known) return { ...base, planned: instruction(node, {}) };
  const x = (word: string, u: Uncertainty = newUncertainty()): string => expand(word, scope, escapeChar, u);
  switch (kw) {
    case 'arg':
      return planArg(node, stage.index, scope, ctx);
    case 'env':
    case 'label': {
      flagsOf(file, node);
      requireArgs(file, node);
      const pairs: { key: string; value: string }[] = [];
      for (let i = 0; i + 1 < node.args.length; i += 2) {
        const key = x(node.args[i] ?? '');
        if (key === '') throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${kw.toUpperCase()} names can not be blank`);
        pairs.push({ key, value: x(node.args[i + 1] ?? '') });
      }
      if (kw === 'env') {
        for (const p of pairs) {
          scope.env.set(p.key, p.value);
          scope.unknown.delete(p.key);
          if (isSecretName(p.key) && p.value) ctx.secrets.add(p.value);
        }
      }
      return { ...base, pairs, planned: instruction(node, { args: pairs.map((p) => `${p.key}=${p.value}`), ...secretFreeText(node) }) };
    }
    case 'workdir':
    case 'user':
    case 'stopsignal': {
      flagsOf(file, node);
      requireArgs(file, node, 1);
      return { ...base, planned: instruction(node, { args: [x(node.args[0] ?? '')] }) };
    }
    case 'expose':
    case 'volume': {
      flagsOf(file, node);
      requireArgs(file, node);
      const args = node.args.map((a) => x(a));
      if (kw === 'volume' && args.some((a) => a.trim() === '')) {
        throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'VOLUME specified can not be an empty string');
      }
      return { ...base, planned: instruction(node, { args }) };
    }
    case 'copy':
    case 'add':
      return planCopy(node, stage, scope, ctx);
    case 'run':
      return planRun(node, stage, scope, ctx);
    case 'cmd':
    case 'entrypoint':
    case 'shell': {
      flagsOf(file, node);
      if (kw === 'shell') {
        if (!node.json) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]');
        if (node.args.length === 0) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'SHELL requires at least one argument');
      }
      return { ...base, planned: instruction(node, {}) };
    }
    case 'healthcheck': {
      const flags = flagsOf(file, node);
      const type = (node.healthType ?? '').toUpperCase();
      if (type === 'NONE') {
        if (node.args.length > 0 || Object.keys(flags).length > 0) {
          throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'HEALTHCHECK NONE takes no arguments');
        }
      } else if (type === 'CMD') {
        if (node.args.length === 0) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'Missing command after HEALTHCHECK CMD');
      } else {
        throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `Unknown type "${node.healthType ?? ''}" in HEALTHCHECK (try CMD)`);
      }
      return { ...base, planned: instruction(node, { args: [type, ...node.args], flags: displayFlags(flags) }) };
    }
    case 'onbuild': {
      flagsOf(file, node);
      const sub = node.sub;
      if (!sub) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'ONBUILD requires at least one argument');
      if (sub.keyword === 'onbuild') throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (sub.keyword === 'from' || sub.keyword === 'maintainer') {
        throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${sub.keyword.toUpperCase()} isn't allowed as an ONBUILD trigger`);
      }
      if (!sub.known) throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `ONBUILD: unknown instruction: ${sub.keyword.toUpperCase()}`);
      return { ...base, planned: instruction(node, {}) };
    }
    case 'maintainer': {
      flagsOf(file, node);
      requireArgs(file, node, 1);
      return { ...base, planned: instruction(node, {}) };
    }
    case 'from':
    default:
      return { ...base, planned: instruction(node, {}) };
  }
}

/** Resolves `--from=` / `from=` to a stage or an external image. */
function resolveFrom(
  value: string,
  node: ParsedNode,
  stage: InternalStage,
  ctx: StageContext,
  what: string,
  allowIndex: boolean,
): { stage: number } | { image: string } {
  const names = ctx.names ?? [];
  const count = ctx.stageCount ?? names.length;
  if (allowIndex && /^[+-]?\d+$/.test(value)) {
    const i = Number(value);
    if (i < 0 || i >= count) {
      throw dockerfileError('DOCKERFILE_INVALID', ctx.file, node.startLine, `${what}=${value}: invalid stage index ${i} (the Dockerfile has ${count} stage${count === 1 ? '' : 's'}, 0 to ${count - 1})`, {
        details: { stages: names.filter((n): n is string => n !== undefined) },
      });
    }
    return { stage: i };
  }
  const lower = value.toLowerCase();
  const idx = names.findIndex((n) => n === lower);
  if (idx >= 0) return { stage: idx };
  // A bare word close to a stage name is a typo, not an image: the builder would try to pull it.
  const guess = /^[a-z0-9_-]+$/i.test(value) ? suggestion(lower, names) : undefined;
  if (guess) {
    throw dockerfileError('DOCKERFILE_INVALID', ctx.file, node.startLine, `${what}=${value}: no stage named "${value}" (${knownStages(names)}); ${guess}`, {
      hint: `to use the image ${value} instead, write ${what}=${value}:latest`,
      details: { stages: names.filter((n): n is string => n !== undefined) },
    });
  }
  try {
    parseReference(value, { defaultTag: false });
  } catch (err) {
    throw dockerfileError('DOCKERFILE_INVALID', ctx.file, node.startLine, `${what}=${value}: not a stage (${knownStages(names)}) and not a valid image reference`, {
      cause: err,
      details: { stages: names.filter((n): n is string => n !== undefined) },
    });
  }
  void stage;
  return { image: value };
}

const GIT_RE = /^(?:git:\/\/|git@[^:]+:|ssh:\/\/|https?:\/\/[^#]*?\.git(?:[#/].*)?$|https?:\/\/[^#]*#)/i;
const URL_RE = /^https?:\/\//i;

function planCopy(node: ParsedNode, stage: InternalStage, scope: Scope, ctx: StageContext): InternalInstruction {
  const { file, escapeChar } = ctx;
  const kw = node.keyword.toUpperCase() as 'COPY' | 'ADD';
  const flags = flagsOf(file, node);
  if (node.args.length < 2) {
    throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${kw} requires at least two arguments, but only ${node.args.length === 0 ? 'none were' : 'one was'} provided. Destination could not be determined.`);
  }
  const rawDest = node.args[node.args.length - 1] ?? '';
  if (parseHeredocWord(rawDest, file, node.startLine)) {
    throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${kw} cannot accept a heredoc as a destination`);
  }
  const x = (w: string, u: Uncertainty = newUncertainty()): string => expand(w, scope, escapeChar, u);
  const dest = x(rawDest);
  const chown = flagString(flags, 'chown');
  const chmod = flagString(flags, 'chmod');
  const checksum = flagString(flags, 'checksum');
  const excludes = flagStrings(flags, 'exclude').map((e) => x(e));
  let fromValue = flagString(flags, 'from');
  let resolved: { stage: number } | { image: string } | undefined;
  if (fromValue !== undefined) {
    const expanded = x(fromValue);
    if (expanded !== fromValue) {
      throw dockerfileError('DOCKERFILE_INVALID', file, node.startLine, `${kw} --from=${fromValue}: variable expansion is not supported for --from`, {
        hint: 'define a stage with FROM using an ARG from the global scope (ARG X=...; FROM ${X} AS src) and use --from=src',
      });
    }
    if (fromValue === '') fromValue = undefined;
    else {
      resolved = resolveFrom(fromValue, node, stage, ctx, `${kw} --from`, true);
      if ('stage' in resolved) stage.deps.set(resolved.stage, stage.deps.get(resolved.stage) ?? node.startLine);
      else if (!stage.externalImages.includes(resolved.image)) stage.externalImages.push(resolved.image);
    }
  }
  const sources: CopySource[] = [];
  const contextSources: string[] = [];
  const shown: string[] = []; // sources as expanded, before cleaning, for display
  let uncertain: { raw: string; names: string[] } | undefined;
  for (const raw of node.args.slice(0, -1)) {
    const doc = parseHeredocWord(raw, file, node.startLine);
    if (doc) {
      if (!node.heredocs.some((h) => h.name === doc.name)) {
        throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, `${kw}: heredoc <<${doc.name} has no body`);
      }
      sources.push({ kind: 'heredoc', path: doc.name });
      shown.push(`<<${doc.name}`);
      continue;
    }
    const u = newUncertainty();
    const src = x(raw, u);
    shown.push(src);
    const isGit = GIT_RE.test(src);
    const isUrl = URL_RE.test(src);
    if (isGit || isUrl) {
      if (kw === 'COPY') {
        throw dockerfileError('DOCKERFILE_INVALID', file, node.startLine, `COPY: source can't be a ${isGit ? 'git ref' : 'URL'} (${src})`, {
          hint: `use ADD ${src} ... to fetch it`,
        });
      }
      sources.push({ kind: isGit ? 'git' : 'url', path: src });
      continue;
    }
    const path = cleanSourcePath(src);
    if (resolved === undefined) {
      sources.push({ kind: 'context', path });
      contextSources.push(path);
      const names = [...u.platform, ...u.baseImage];
      if (names.length > 0 && uncertain === undefined) uncertain = { raw, names };
    } else {
      sources.push({ kind: 'stage' in resolved ? 'stage' : 'image', path });
    }
  }
  if (contextSources.length > 0) {
    stage.contextReads.push({ line: node.startLine, instruction: kw, sources: contextSources, ...(excludes.length ? { excludes } : {}) });
    if (uncertain && stage.wholeContext === undefined) {
      stage.wholeContext = {
        reason: `${kw} source "${uncertain.raw}" uses ${uncertain.names.map((n) => `$${n}`).join(', ')}, whose value is not known before the build (${uncertain.names.some((n) => PLATFORM_ARG_NAMES.includes(n)) ? 'pass --platform' : 'it may come from the base image'})`,
        line: node.startLine,
      };
    } else if (contextSources.includes('.') && stage.wholeContext === undefined) {
      stage.wholeContext = { reason: `${kw} ${contextSources.length === 1 ? '.' : 'with source .'} reads the whole context`, line: node.startLine };
    }
  }
  const copy: CopyDetails = {
    sources,
    dest,
    ...(chown === undefined ? {} : { chown: x(chown) }),
    ...(chmod === undefined ? {} : { chmod: x(chmod) }),
    ...(fromValue === undefined ? {} : { from: fromValue }),
    ...(resolved && 'stage' in resolved ? { fromStage: resolved.stage } : {}),
    ...(resolved && 'image' in resolved ? { fromImage: resolved.image } : {}),
    link: flagBool(flags, 'link'),
    parents: flagBool(flags, 'parents'),
    excludes,
    ...(checksum === undefined ? {} : { checksum: x(checksum) }),
  };
  const shownFlags = displayFlags(flags);
  if (copy.chown !== undefined) shownFlags['chown'] = copy.chown;
  if (copy.chmod !== undefined) shownFlags['chmod'] = copy.chmod;
  if (excludes.length) shownFlags['exclude'] = excludes;
  const args = [...shown, dest];
  return { node, stage: stage.index, planned: instruction(node, { args, flags: shownFlags, copy }) };
}

function planRun(node: ParsedNode, stage: InternalStage, scope: Scope, ctx: StageContext): InternalInstruction {
  const { file, escapeChar } = ctx;
  const flags = flagsOf(file, node);
  if (node.args.length === 0 && node.heredocs.length === 0) {
    throw dockerfileError('DOCKERFILE_SYNTAX', file, node.startLine, 'RUN requires at least one argument');
  }
  const mounts: RunMount[] = [];
  for (const value of flagStrings(flags, 'mount')) {
    const u = newUncertainty();
    const m = parseMount(value, (w) => expand(w, scope, escapeChar, u));
    if ('error' in m) throw dockerfileError('DOCKERFILE_INVALID', file, node.startLine, `RUN --mount=${value}: ${m.error}`);
    let resolved: { stage: number } | { image: string } | undefined;
    if (m.from !== undefined && m.from !== '') {
      // Mounts name stages by name only; anything else is an image.
      resolved = resolveFrom(m.from, node, stage, ctx, 'RUN --mount from', false);
      if ('stage' in resolved) stage.deps.set(resolved.stage, stage.deps.get(resolved.stage) ?? node.startLine);
      else if (!stage.externalImages.includes(resolved.image)) stage.externalImages.push(resolved.image);
    }
    // Only a bind mount without from= reads the context; cache/tmpfs start empty (or from a
    // stage/image), secret and ssh come from the client's session, not the context.
    const readsContext = m.type === 'bind' && resolved === undefined;
    const source = m.source === undefined ? undefined : m.source;
    mounts.push({
      type: m.type,
      ...(m.target === undefined ? {} : { target: m.target }),
      ...(source === undefined ? {} : { source }),
      ...(m.from === undefined ? {} : { from: m.from }),
      ...(resolved && 'stage' in resolved ? { fromStage: resolved.stage } : {}),
      ...(resolved && 'image' in resolved ? { fromImage: resolved.image } : {}),
      readsContext,
    });
    if (readsContext) {
      const path = cleanSourcePath(source ?? '.');
      stage.contextReads.push({ line: node.startLine, instruction: 'RUN --mount', sources: [path] });
      const names = [...u.platform, ...u.baseImage];
      if (stage.wholeContext === undefined && (path === '.' || names.length > 0)) {
        stage.wholeContext = {
          reason:
            path === '.'
              ? 'RUN --mount=type=bind without source= mounts the whole context'
              : `RUN --mount source "${source ?? ''}" uses ${names.map((n) => `$${n}`).join(', ')}, whose value is not known before the build`,
          line: node.startLine,
        };
      }
    }
  }
  return { node, stage: stage.index, planned: instruction(node, { flags: displayFlags(flags), mounts }) };
}

function checkCycles(stages: readonly InternalStage[], file: string): void {
  const state = new Map<number, 'visiting' | 'done'>();
  const visit = (i: number, via: number | undefined): void => {
    const st = state.get(i);
    if (st === 'done') return;
    const s = stages[i] as InternalStage;
    if (st === 'visiting') {
      throw dockerfileError('DOCKERFILE_INVALID', file, via, `circular dependency detected on stage: ${s.name ?? i}`, {
        hint: 'a stage cannot copy from itself or from a stage that depends on it',
      });
    }
    state.set(i, 'visiting');
    for (const [d, line] of s.deps) visit(d, line);
    state.set(i, 'done');
  };
  for (const s of stages) visit(s.index, undefined);
}

// Secret values (of secret-looking ARG/ENV names) never reach output: replace them with ***.
function redactor(secrets: ReadonlySet<string>): (p: PlannedInstruction) => PlannedInstruction {
  const values = [...secrets].filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  const r = (s: string): string => {
    let out = s;
    for (const v of values) out = out.split(v).join('***');
    return out;
  };
  return (p) => {
    const secretPairs = p.keyword === 'ARG' || p.keyword === 'ENV';
    const args = p.args.map((a) => {
      if (secretPairs) {
        const eq = a.indexOf('=');
        if (eq > 0 && isSecretName(a.slice(0, eq))) return `${a.slice(0, eq)}=***`;
      }
      return r(a);
    });
    const text = r(p.text);
    const flags = Object.fromEntries(Object.entries(p.flags).map(([k, v]) => [k, typeof v === 'string' ? r(v) : v.map(r)]));
    return { ...p, args, text, flags, ...(p.copy ? { copy: { ...p.copy, dest: r(p.copy.dest) } } : {}) };
  };
}

/**
 * The instruction text of an ARG/ENV that sets a secret-looking name, with those values shown
 * as `***`; empty when there is nothing to hide.
 */
function secretFreeText(node: ParsedNode): { text?: string } {
  const kw = node.keyword.toUpperCase();
  if (node.keyword === 'arg') {
    let hidden = false;
    const parts = node.args.map((a) => {
      const eq = a.indexOf('=');
      if (eq > 0 && isSecretName(a.slice(0, eq))) {
        hidden = true;
        return `${a.slice(0, eq)}=***`;
      }
      return a;
    });
    return hidden ? { text: `${kw} ${parts.join(' ')}` } : {};
  }
  const pairs: string[] = [];
  let hidden = false;
  for (let i = 0; i + 1 < node.args.length; i += 2) {
    const k = node.args[i] ?? '';
    const secret = isSecretName(k);
    hidden ||= secret;
    pairs.push(node.legacyKeyValue ? `${k} ${secret ? '***' : (node.args[i + 1] ?? '')}` : `${k}=${secret ? '***' : (node.args[i + 1] ?? '')}`);
  }
  return hidden ? { text: `${kw} ${pairs.join(' ')}` } : {};
}

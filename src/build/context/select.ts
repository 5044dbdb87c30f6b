/**
 * The minimal context: of the entries the docker CLI would send, only those the build can read.
 * The plan says which COPY/ADD/RUN --mount sources the built stages read; the planner's
 * matchContextSources resolves them against the context as the builder would; this module adds
 * what the builder reaches besides (symlink targets, the always-sent files, parent directories)
 * and decides when only the full context is safe.
 */
import { matchContextSources } from '../plan/match.js';
import type { BuildPlan, PlanStage } from '../plan/types.js';
import { goCleanPath } from '../dockerignore/clean.js';
import type { ContextEntry } from './walk.js';

/** Which builder runs the build: classic builds every stage up to the target, BuildKit only the needed ones. */
export type BuilderKind = 'classic' | 'buildkit';

/** What the build reads from the context, derived from a plan. */
export interface ContextNeeds {
  /** Source patterns as in ContextRead.sources. */
  readonly sources: readonly string[];
  /** Set when the whole context must be sent, with the reason (shown to the user). */
  readonly wholeContext?: string;
  /** Indexes of the stages the builder will run. */
  readonly builtStages: readonly number[];
}

/** The stages a builder runs: BuildKit the target's dependencies, classic every stage up to the target. */
export function builtStages(plan: BuildPlan, builder: BuilderKind): readonly number[] {
  if (builder === 'buildkit') return plan.neededStages;
  return plan.allStages.filter((i) => i <= plan.target.index);
}

/** External images the built stages use (FROM bases, COPY --from / RUN --mount from images). */
export function builtExternalImages(plan: BuildPlan, builder: BuilderKind): string[] {
  if (builder === 'buildkit') return [...plan.externalImages];
  const out = new Set<string>(plan.externalImages);
  for (const i of builtStages(plan, builder)) {
    const stage = plan.stages[i];
    if (stage === undefined) continue;
    if (!stage.baseIsStage && stage.base.toLowerCase() !== 'scratch') out.add(stage.base);
    for (const inst of stage.instructions) {
      if (inst.copy?.fromImage !== undefined) out.add(inst.copy.fromImage);
    }
  }
  return [...out];
}

function stageReads(stage: PlanStage): { sources: string[]; unknown?: string } {
  const sources: string[] = [];
  for (const inst of stage.instructions) {
    if (inst.keyword === 'ONBUILD') {
      return { sources, unknown: `line ${inst.line} declares an ONBUILD trigger, which may read any file of the context` };
    }
    if (!inst.copy || inst.copy.from !== undefined) continue;
    for (const s of inst.copy.sources) {
      if (s.kind !== 'context') continue;
      if (s.path.includes('$')) return { sources, unknown: `line ${inst.line} reads "${s.path}", whose value is only known to the builder` };
      sources.push(s.path);
    }
  }
  return { sources };
}

/**
 * The context reads of the stages `builder` runs. BuildKit: the plan's `contextReads` (needed
 * stages, RUN --mount included). Classic: also the COPY/ADD of stages before the target that
 * the target does not need, because the classic builder runs them all.
 */
export function contextNeeds(plan: BuildPlan, builder: BuilderKind): ContextNeeds {
  const stages = builtStages(plan, builder);
  const sources = plan.contextReads.flatMap((r) => r.sources);
  if (plan.readsWholeContext) {
    return { sources, builtStages: stages, wholeContext: `line ${plan.readsWholeContext.line}: ${plan.readsWholeContext.reason}` };
  }
  const needed = new Set(plan.neededStages);
  for (const i of stages) {
    const stage = plan.stages[i];
    if (stage === undefined) continue;
    // ONBUILD in the Dockerfile itself: a later stage built FROM this one runs the triggers.
    const onbuild = stage.instructions.find((inst) => inst.keyword === 'ONBUILD');
    if (onbuild) {
      return { sources, builtStages: stages, wholeContext: `line ${onbuild.line} declares an ONBUILD trigger, which may read any file of the context` };
    }
    if (needed.has(i)) continue;
    const reads = stageReads(stage);
    if (reads.unknown !== undefined) return { sources, builtStages: stages, wholeContext: reads.unknown };
    sources.push(...reads.sources);
  }
  return { sources, builtStages: stages };
}

const parentOf = (p: string): string => {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
};

/** The segments of a source before its first wildcard (the part the builder resolves as a path). */
function literalPrefix(source: string): string[] {
  const segs = goCleanPath(source).split('/');
  const out: string[] = [];
  for (const s of segs) {
    if (s === '.' || /[*?[\\]/.test(s)) break;
    out.push(s);
  }
  return out;
}

/**
 * Resolves `path` inside the context the way the builder follows symlinks for a COPY source
 * (in scope: `..` and absolute targets stay under the context root). Returns undefined when it
 * does not resolve to a listed entry.
 */
function resolveInScope(path: string, byPath: ReadonlyMap<string, ContextEntry>): string | undefined {
  let pending = path.split('/').filter((s) => s !== '' && s !== '.');
  const done: string[] = [];
  let hops = 0;
  while (pending.length > 0) {
    const seg = pending.shift() as string;
    if (seg === '..') {
      done.pop();
      continue;
    }
    done.push(seg);
    const entry = byPath.get(done.join('/'));
    if (entry === undefined) return undefined;
    if (entry.type === 'symlink') {
      if (++hops > 255) return undefined;
      const target = entry.linkTarget ?? '';
      done.pop();
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter((s) => s !== '' && s !== '.'), ...pending];
    }
  }
  return done.length === 0 ? undefined : done.join('/');
}

/** The result of {@link selectContext}. */
export interface ContextSelection {
  /** Entries to send, in tar order. */
  readonly entries: readonly ContextEntry[];
  /** Set when everything not ignored is sent, with the reason. */
  readonly fullReason?: string;
}

/**
 * Picks the entries the build reads out of the full (docker CLI) context `entries`: what the
 * sources match (with subtrees), symlink targets of selected links, `always` (Dockerfile,
 * .dockerignore), and the parent directories of all of these. Falls back to every entry when a
 * source walks through a symlink (the builder would follow it; imgtool does not guess).
 */
export function selectContext(entries: readonly ContextEntry[], sources: readonly string[], always: readonly string[]): ContextSelection {
  const byPath = new Map<string, ContextEntry>();
  for (const e of entries) byPath.set(e.path, e);
  if (sources.some((s) => goCleanPath(s) === '.')) return { entries, fullReason: 'the build copies the whole context (".")' };

  for (const s of sources) {
    const segs = literalPrefix(s);
    for (let i = 1; i < segs.length; i++) {
      const prefix = segs.slice(0, i).join('/');
      if (byPath.get(prefix)?.type === 'symlink') {
        return { entries, fullReason: `the source "${s}" goes through the symlink "${prefix}"` };
      }
    }
  }

  const paths = entries.map((e) => e.path);
  const wanted = new Set<string>(matchContextSources(sources, paths));
  for (const a of always) if (byPath.has(a)) wanted.add(a);

  // Symlink targets the builder follows, until nothing new is added.
  const work = [...wanted].filter((p) => byPath.get(p)?.type === 'symlink');
  const seenLinks = new Set<string>();
  while (work.length > 0) {
    const link = work.pop() as string;
    if (seenLinks.has(link)) continue;
    seenLinks.add(link);
    const entry = byPath.get(link) as ContextEntry;
    const target = entry.linkTarget ?? '';
    const joined = target.startsWith('/') ? target : `${parentOf(link)}/${target}`;
    const resolved = resolveInScope(joined, byPath);
    if (resolved === undefined || wanted.has(resolved)) continue;
    for (const p of matchContextSources([resolved], paths)) {
      if (!wanted.has(p)) {
        wanted.add(p);
        if (byPath.get(p)?.type === 'symlink') work.push(p);
      }
    }
  }

  // Parent directories of everything kept (those present: an excluded directory that was only
  // walked through has no entry of its own, in either context).
  const keep = new Set<string>();
  for (const p of wanted) {
    keep.add(p);
    for (let d = parentOf(p); d !== '' && !keep.has(d); d = parentOf(d)) keep.add(d);
  }
  return { entries: entries.filter((e) => keep.has(e.path)) };
}

/**
 * The shapes of a build plan: what imgtool learns from a Dockerfile before anything is sent to
 * the engine. `imgtool plan --json` prints a {@link BuildPlan} as it is, so field names here are
 * a stable interface for CI scripts: add fields, never rename them.
 */

/** Options for {@link planBuild}. */
export interface PlanBuildOptions {
  /** The Dockerfile's text (UTF-8, a leading BOM is ignored). */
  readonly dockerfileText: string;
  /** Where the text came from, for messages (`Dockerfile:12: ...`); `-` for stdin. */
  readonly dockerfilePath: string;
  /** `--target`: the stage to build; default the last stage. */
  readonly target?: string;
  /**
   * `--build-arg` values. `undefined` means "named without a value and not in the environment":
   * the ARG's default applies, as with the docker CLI.
   */
  readonly buildArgs?: Readonly<Record<string, string | undefined>>;
  /** `--platform`: the target platform (`os/arch[/variant]`); feeds TARGETPLATFORM and friends. */
  readonly platform?: string;
  /**
   * The engine's own platform (`os/arch[/variant]`, from `GET /version`); feeds BUILDPLATFORM and
   * friends, and TARGET* when `platform` is not given. Without either, those ARGs are unknown and
   * a COPY source that uses them makes the plan read the whole context.
   */
  readonly buildPlatform?: string;
  /**
   * Environment (`KEY=value` lines, as in an image config's `Env`) of external base images, by
   * the reference written in FROM after expansion. With it, `$VAR`s a base image defines expand
   * as the builder expands them; without it they are unknown.
   */
  readonly baseImageEnv?: Readonly<Record<string, readonly string[]>>;
  /** Facts about the context for the lint rules that need them. */
  readonly contextInfo?: {
    readonly hasDockerignore: boolean;
    /** Bytes the full (docker CLI) context would send. */
    readonly totalBytes: number;
  };
  /**
   * Paths of the context after .dockerignore (relative, `/`-separated), for the credentials-file
   * lint; when given, the rule also says whether a COPY/ADD reads each such file.
   */
  readonly contextPaths?: Iterable<string>;
  /** The builder that will run the build; `classic` enables the BuildKit-only-feature lint. */
  readonly builder?: 'classic' | 'buildkit';
}

/** How an instruction affects the image's filesystem. */
export type LayerEffect =
  /** RUN, COPY, ADD: a new filesystem layer (both builders). */
  | 'filesystem'
  /**
   * WORKDIR: both builders create the directory. Measured on Engine 20.10: the classic builder
   * adds a layer only when the directory did not exist yet (an empty diff becomes an
   * `empty_layer` history entry); BuildKit adds a layer for every WORKDIR other than `/`.
   */
  | 'conditional'
  /** Every other instruction: image config only, recorded as an `empty_layer` history entry. */
  | 'none';

/** One instruction of a stage, after the builder's parsing and variable expansion. */
export interface PlannedInstruction {
  /** 1-based line where the instruction starts. */
  readonly line: number;
  /** 1-based line where it ends (continuations, heredoc bodies). */
  readonly endLine: number;
  /** Upper-case keyword: `RUN`, `COPY`, ... */
  readonly keyword: string;
  /**
   * The instruction as the builder sees it, one line, variables not expanded (secret-looking
   * ARG/ENV values are shown as `***`).
   */
  readonly text: string;
  /** Arguments after expansion for the instructions the builder expands; raw otherwise. */
  readonly args: readonly string[];
  /** Flags (`--from`, `--chown`, `--mount`...), expanded where the builder expands them. */
  readonly flags: Readonly<Record<string, string | readonly string[]>>;
  /** Exec (JSON array) form. */
  readonly json: boolean;
  /** Heredocs attached to the instruction (their content never comes from the context). */
  readonly heredocs: readonly { readonly name: string; readonly expand: boolean; readonly bytes: number }[];
  /** What the instruction does to the filesystem; see {@link LayerEffect}. */
  readonly layer: LayerEffect;
  /** Shorthand for `layer === 'filesystem'`. */
  readonly createsLayer: boolean;
  /** COPY/ADD details; absent for other instructions. */
  readonly copy?: CopyDetails;
  /** RUN --mount details; absent when the RUN has no mounts. */
  readonly mounts?: readonly RunMount[];
}

/** Where a COPY/ADD source comes from. */
export type CopySourceKind = 'context' | 'stage' | 'image' | 'url' | 'git' | 'heredoc';

/** One COPY/ADD source after expansion. */
export interface CopySource {
  readonly kind: CopySourceKind;
  /**
   * For `context`, `stage` and `image`: the path as the builder uses it (cleaned, relative to the
   * source root, `.` for the whole root); may hold wildcards. For `url`/`git`: the URL. For
   * `heredoc`: the heredoc's name.
   */
  readonly path: string;
}

/** The parts of a COPY/ADD that matter to a plan. */
export interface CopyDetails {
  readonly sources: readonly CopySource[];
  readonly dest: string;
  readonly chown?: string;
  readonly chmod?: string;
  /** `--from` as written: a stage name, a stage index, or an image reference. */
  readonly from?: string;
  /** `--from` resolved: a stage index, or an external image. */
  readonly fromStage?: number;
  readonly fromImage?: string;
  readonly link: boolean;
  readonly parents: boolean;
  readonly excludes: readonly string[];
  /** ADD --checksum. */
  readonly checksum?: string;
}

/** One `RUN --mount=...`. */
export interface RunMount {
  /** bind (default), cache, tmpfs, secret, ssh. */
  readonly type: string;
  readonly target?: string;
  readonly source?: string;
  readonly from?: string;
  /** Resolved `from`: a stage index, or an external image. */
  readonly fromStage?: number;
  readonly fromImage?: string;
  /** True for a bind mount of the build context (no `from`). */
  readonly readsContext: boolean;
}

/** A build stage (`FROM ... [AS name]`). */
export interface PlanStage {
  /** 0-based position in the Dockerfile; `COPY --from=<index>` refers to it. */
  readonly index: number;
  /** Lower-cased name after `AS`, or undefined. */
  readonly name?: string;
  /** The FROM argument after expansion: an image reference, `scratch`, or a stage name. */
  readonly base: string;
  /** True when `base` names an earlier stage. */
  readonly baseIsStage: boolean;
  /** The earlier stage's index when `baseIsStage`. */
  readonly baseStage?: number;
  /** `FROM --platform=` after expansion. */
  readonly platform?: string;
  /** True when the target needs this stage (BuildKit builds only those). */
  readonly needed: boolean;
  /** Line of the FROM instruction. */
  readonly line: number;
  /** The stage's instructions, FROM included. */
  readonly instructions: readonly PlannedInstruction[];
}

/** A read of the build context by one instruction of a needed stage. */
export interface ContextRead {
  readonly line: number;
  readonly instruction: 'COPY' | 'ADD' | 'RUN --mount';
  /**
   * Source patterns as the builder resolves them against the context: cleaned, relative,
   * `/`-separated, `.` for everything; Go `filepath.Match` wildcards allowed.
   * Resolve them with {@link matchContextSources}.
   */
  readonly sources: readonly string[];
  /** COPY/ADD --exclude patterns (files the instruction will not copy; informational). */
  readonly excludes?: readonly string[];
}

/** Lint severities: `error` findings stop the build (they are thrown as ImgtoolError). */
export type LintSeverity = 'warning' | 'error';

/** A lint finding. Codes are stable; see the table in lint.ts. */
export interface LintWarning {
  /** Stable code, e.g. `IMG001`. */
  readonly code: string;
  /** Short rule name, e.g. `base-image-untagged`. */
  readonly rule: string;
  readonly severity: LintSeverity;
  /** 1-based line; absent for findings about the context rather than a line. */
  readonly line?: number;
  readonly message: string;
}

/** Everything imgtool knows about a build before sending it. */
export interface BuildPlan {
  /** The Dockerfile path the plan was made from (as given). */
  readonly dockerfilePath: string;
  /** `# syntax=` value, when present. */
  readonly syntax?: string;
  /** Escape character in effect (`\` or a backquote). */
  readonly escapeChar: string;
  /** Every stage, in order; `needed` marks the ones the target depends on. */
  readonly stages: readonly PlanStage[];
  /** The target stage (index and name). */
  readonly target: { readonly index: number; readonly name?: string };
  /** Indexes of the stages BuildKit builds (the target and what it depends on), ascending. */
  readonly neededStages: readonly number[];
  /** Indexes of every stage: the classic builder builds all of them, in order. */
  readonly allStages: readonly number[];
  /** Context reads of the needed stages, in Dockerfile order. */
  readonly contextReads: readonly ContextRead[];
  /**
   * Set when the build may read anything in the context (a bind mount of `.`, a source whose
   * value the planner cannot know): a minimal context must fall back to the full one.
   */
  readonly readsWholeContext?: { readonly reason: string; readonly line: number };
  /**
   * External images of the needed stages: FROM bases and `--from` images (COPY, RUN --mount),
   * as written after expansion, deduplicated, without `scratch`. Inspect them for ONBUILD.
   */
  readonly externalImages: readonly string[];
  /** ARG names the build args set that no ARG declares (the builder warns about them too). */
  readonly unusedBuildArgs: readonly string[];
  readonly warnings: readonly LintWarning[];
}

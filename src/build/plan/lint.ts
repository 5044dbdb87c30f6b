/**
 * Lint rules over a plan. Each finding has a stable code; scripts may rely on codes, never on
 * messages. `error` findings are thrown by planBuild (the builder would fail on them).
 *
 * | code   | rule                          | severity | what                                                                    |
 * |--------|-------------------------------|----------|-------------------------------------------------------------------------|
 * | IMG001 | base-image-untagged           | warning  | FROM / --from image without a tag or digest (means :latest)             |
 * | IMG002 | base-image-latest             | warning  | FROM / --from image tagged :latest                                       |
 * | IMG003 | add-instead-of-copy           | warning  | ADD of local, non-archive sources: COPY does the same, predictably      |
 * | IMG004 | shell-form-cmd-entrypoint     | warning  | CMD/ENTRYPOINT in shell form: PID 1 is /bin/sh, signals do not reach it  |
 * | IMG005 | multiple-cmd-entrypoint       | warning  | more than one CMD (or ENTRYPOINT) in a stage: only the last one counts   |
 * | IMG006 | relative-workdir              | warning  | WORKDIR with a relative path: depends on the previous WORKDIR           |
 * | IMG007 | secret-in-arg-env             | warning  | ARG/ENV name looks like a secret: values persist in image history/config |
 * | IMG008 | apt-get-install-no-yes        | warning  | apt-get install without -y: the build hangs or fails at the prompt      |
 * | IMG009 | apt-get-lists-not-cleaned     | warning  | apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN     |
 * | IMG010 | unknown-instruction           | error    | not a Dockerfile instruction: the builder stops on it                   |
 * | IMG011 | large-context-no-dockerignore | warning  | context over 10 MiB and no .dockerignore                                 |
 * | IMG012 | credentials-in-context        | warning  | the context holds a credentials-looking file (.env, .npmrc, id_rsa...)   |
 * | IMG013 | external-frontend             | warning  | `# syntax=` names a frontend other than docker/dockerfile                |
 * | IMG014 | build-arg-unused              | warning  | a --build-arg that no ARG declares                                       |
 * | IMG015 | buildkit-only                 | warning  | with the classic builder: RUN --mount, heredocs, COPY --link...         |
 * | IMG016 | maintainer-deprecated         | warning  | MAINTAINER: use LABEL org.opencontainers.image.authors                   |
 * | IMG017 | empty-continuation-line       | warning  | an empty line inside a continued instruction (future builders reject it) |
 * | IMG018 | legacy-key-value              | warning  | `ENV key value` / `LABEL key value`: use key=value                       |
 * | IMG019 | newer-substitution            | warning  | `${V-x}`, `${V+x}`, `${V?x}`, `${V#p}`, `${V%p}`, `${V/p/r}`: Engine 20.10's |
 * |        |                               |          | builders reject them ("missing ':' in substitution"); newer BuildKit has them |
 */
import { parseReference } from '../../image/reference.js';
import { matchContextSources } from './match.js';
import type { ParsedDirectives, ParsedNode } from './parser.js';
import type { InternalInstruction, InternalStage } from './planner.js';
import { credentialFileReason, isSecretName } from './secrets.js';
import type { ContextRead, LintWarning, PlanBuildOptions } from './types.js';

/** The rule table: code → rule name and severity. */
export const LINT_RULES: Readonly<Record<string, { readonly rule: string; readonly severity: 'warning' | 'error' }>> = {
  IMG001: { rule: 'base-image-untagged', severity: 'warning' },
  IMG002: { rule: 'base-image-latest', severity: 'warning' },
  IMG003: { rule: 'add-instead-of-copy', severity: 'warning' },
  IMG004: { rule: 'shell-form-cmd-entrypoint', severity: 'warning' },
  IMG005: { rule: 'multiple-cmd-entrypoint', severity: 'warning' },
  IMG006: { rule: 'relative-workdir', severity: 'warning' },
  IMG007: { rule: 'secret-in-arg-env', severity: 'warning' },
  IMG008: { rule: 'apt-get-install-no-yes', severity: 'warning' },
  IMG009: { rule: 'apt-get-lists-not-cleaned', severity: 'warning' },
  IMG010: { rule: 'unknown-instruction', severity: 'error' },
  IMG011: { rule: 'large-context-no-dockerignore', severity: 'warning' },
  IMG012: { rule: 'credentials-in-context', severity: 'warning' },
  IMG013: { rule: 'external-frontend', severity: 'warning' },
  IMG014: { rule: 'build-arg-unused', severity: 'warning' },
  IMG015: { rule: 'buildkit-only', severity: 'warning' },
  IMG016: { rule: 'maintainer-deprecated', severity: 'warning' },
  IMG017: { rule: 'empty-continuation-line', severity: 'warning' },
  IMG018: { rule: 'legacy-key-value', severity: 'warning' },
  IMG019: { rule: 'newer-substitution', severity: 'warning' },
};

/** Above this many bytes, a context without .dockerignore is worth a warning (10 MiB). */
export const LARGE_CONTEXT_BYTES = 10 * 1024 * 1024;

/** What the rules look at. */
export interface LintInput {
  readonly file: string;
  readonly directives: ParsedDirectives;
  readonly nodes: readonly ParsedNode[];
  readonly globalArgs: readonly InternalInstruction[];
  readonly stages: readonly InternalStage[];
  readonly needed: ReadonlySet<number>;
  readonly contextReads: readonly ContextRead[];
  readonly unusedBuildArgs: readonly string[];
  readonly options: PlanBuildOptions;
}

/** Runs every rule; findings sorted by line (context-wide ones last). */
export function lintPlan(input: LintInput): LintWarning[] {
  const out: LintWarning[] = [];
  const add = (code: keyof typeof LINT_RULES & string, line: number | undefined, message: string): void => {
    const r = LINT_RULES[code];
    if (!r) return;
    out.push({ code, rule: r.rule, severity: r.severity, ...(line === undefined ? {} : { line }), message });
  };

  // Directives.
  const syntax = input.directives.syntax;
  if (syntax && !isStandardFrontend(syntax.value)) {
    add('IMG013', syntax.line, `# syntax=${syntax.value} selects an external frontend; imgtool plans with the standard Dockerfile grammar, so this plan may not match what that frontend does`);
  }

  for (const node of input.nodes) {
    if (!node.known) add('IMG010', node.startLine, `unknown instruction: ${node.keyword.toUpperCase()}`);
    if (node.emptyContinuationLine) {
      add('IMG017', node.startLine, `${node.keyword.toUpperCase()} has an empty continuation line; newer builders reject it: remove the empty line or end the instruction`);
    }
    if (node.keyword === 'maintainer') add('IMG016', node.startLine, 'MAINTAINER is deprecated: use LABEL org.opencontainers.image.authors="..."');
    if (EXPANDING.has(node.keyword) && NEWER_SUBSTITUTION_RE.test(node.original)) {
      add('IMG019', node.startLine, `${node.keyword.toUpperCase()} uses a substitution without ':' or a pattern (\${VAR-x}, \${VAR#p}...): Engine 20.10's builders reject it ("missing ':' in substitution"); newer BuildKit (Engine 23+) accepts it. Use \${VAR:-x} for portability`);
    }
    if (node.legacyKeyValue) {
      add('IMG018', node.startLine, `${node.keyword.toUpperCase()} ${node.args[0] ?? ''} <value> is the legacy form: write ${node.keyword.toUpperCase()} ${node.args[0] ?? ''}=<value>`);
    }
  }

  for (const inst of input.globalArgs) lintSecrets(inst, add);

  const classic = input.options.builder === 'classic';
  for (const stage of input.stages) {
    if (!stage.baseIsStage && stage.base !== 'scratch' && stage.error === undefined) lintImageTag(stage.base, stage.fromNode.startLine, 'FROM', add);
    let cmds = 0;
    let entrypoints = 0;
    for (const inst of stage.instructions) {
      const { node, planned } = inst;
      switch (node.keyword) {
        case 'arg':
        case 'env':
          lintSecrets(inst, add);
          break;
        case 'cmd':
        case 'entrypoint': {
          const kw = node.keyword.toUpperCase();
          if (!node.json && node.args.length > 0) {
            add('IMG004', node.startLine, `${kw} in shell form runs under /bin/sh -c: the process does not get signals (docker stop waits, then kills it); use the JSON form ${kw} ["executable", "arg"]`);
          }
          const n = node.keyword === 'cmd' ? ++cmds : ++entrypoints;
          if (n > 1) add('IMG005', node.startLine, `more than one ${kw} in stage ${stageLabel(stage)}: only the last one takes effect`);
          break;
        }
        case 'workdir': {
          const p = planned.args[0] ?? '';
          if (p !== '' && !p.startsWith('/')) {
            add('IMG006', node.startLine, `WORKDIR ${p} is relative: it resolves against the previous WORKDIR; use an absolute path`);
          }
          break;
        }
        case 'add': {
          const c = planned.copy;
          if (c && c.sources.length > 0 && c.sources.every((s) => s.kind === 'context' || s.kind === 'heredoc') && !c.sources.some((s) => ARCHIVE_RE.test(s.path))) {
            add('IMG003', node.startLine, 'ADD of local files: use COPY (ADD also unpacks archives and fetches URLs, which makes it less predictable)');
          }
          if (classic && (c?.link || c?.excludes.length || c?.checksum !== undefined || c?.sources.some((s) => s.kind === 'git' || s.kind === 'heredoc') || node.flags.some((f) => /^--keep-git-dir/.test(f)))) {
            add('IMG015', node.startLine, 'this ADD uses BuildKit-only features (--link, --exclude, --checksum, git sources or heredocs); the classic builder rejects it');
          }
          break;
        }
        case 'copy': {
          const c = planned.copy;
          if (c?.fromImage !== undefined) lintImageTag(c.fromImage, node.startLine, 'COPY --from', add);
          if (classic && (c?.link || c?.parents || c?.excludes.length || c?.chmod !== undefined || c?.sources.some((s) => s.kind === 'heredoc'))) {
            add('IMG015', node.startLine, 'this COPY uses BuildKit-only features (--link, --parents, --exclude, --chmod or heredocs); the classic builder rejects it');
          }
          break;
        }
        case 'run': {
          lintApt(inst, add);
          for (const m of planned.mounts ?? []) if (m.fromImage !== undefined) lintImageTag(m.fromImage, node.startLine, 'RUN --mount from', add);
          if (classic && (planned.mounts?.length || node.heredocs.length || node.flags.some((f) => /^--(network|security|device)/.test(f)))) {
            add('IMG015', node.startLine, 'this RUN uses BuildKit-only features (--mount, --network, --security or heredocs); the classic builder rejects it');
          }
          break;
        }
        default:
          break;
      }
    }
  }

  for (const name of input.unusedBuildArgs) {
    add('IMG014', undefined, `build arg ${name} is set but no ARG declares it; it has no effect (declare ARG ${name} in the stage that uses it)`);
  }

  const info = input.options.contextInfo;
  if (info && !info.hasDockerignore && info.totalBytes > LARGE_CONTEXT_BYTES) {
    add('IMG011', undefined, `the context is ${formatBytes(info.totalBytes)} and has no .dockerignore: the docker CLI sends all of it; add a .dockerignore (imgtool's minimal context sends only what COPY/ADD read)`);
  }

  if (input.options.contextPaths) {
    const creds: { path: string; reason: string }[] = [];
    for (const p of input.options.contextPaths) {
      const reason = credentialFileReason(p);
      if (reason) creds.push({ path: p, reason });
    }
    for (const { path, reason } of creds) {
      const reader = input.contextReads.find((r) => matchContextSources(r.sources, [path], { includeAncestors: false }).size > 0);
      if (reader) {
        add('IMG012', reader.line, `${reader.instruction} copies ${path} (${reason}) into the image: add it to .dockerignore, or name only the files the image needs`);
      } else {
        add('IMG012', undefined, `the context holds ${path} (${reason}); the docker CLI would send it to the daemon: add it to .dockerignore`);
      }
    }
  }

  return out.sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}

type Add = (code: string, line: number | undefined, message: string) => void;

// Instructions whose arguments the builder expands, and the substitutions older builders lack.
const EXPANDING = new Set(['from', 'copy', 'add', 'env', 'arg', 'label', 'workdir', 'user', 'expose', 'volume', 'stopsignal']);
const NEWER_SUBSTITUTION_RE = /\$\{[A-Za-z_][A-Za-z0-9_]*[-+?#%/]/;

const ARCHIVE_RE = /\.(tar|tgz|tbz|tbz2|txz|tzst|gz|bz2|xz|zst|lz4)$/i;

function isStandardFrontend(value: string): boolean {
  const v = value.trim().toLowerCase();
  return /^(?:docker\.io\/)?docker\/dockerfile(?:-upstream)?(?:[:@].*)?$/.test(v);
}

function stageLabel(stage: InternalStage): string {
  return stage.name === undefined ? `#${stage.index}` : `${stage.name} (#${stage.index})`;
}

function lintImageTag(ref: string, line: number, what: string, add: Add): void {
  let parsed;
  try {
    parsed = parseReference(ref, { defaultTag: false });
  } catch {
    return;
  }
  if (parsed.digest !== undefined) return;
  if (parsed.tag === undefined) {
    add('IMG001', line, `${what} ${ref} has no tag: it means ${ref}:latest, which changes under you; pin a version tag (or a digest)`);
  } else if (parsed.tag === 'latest') {
    add('IMG002', line, `${what} ${ref} uses :latest, which changes under you; pin a version tag (or a digest)`);
  }
}

function lintSecrets(inst: InternalInstruction, add: Add): void {
  const kw = inst.node.keyword.toUpperCase();
  for (const p of inst.pairs ?? []) {
    if (isSecretName(p.key)) {
      add('IMG007', inst.node.startLine, `${kw} ${p.key} looks like a secret: ${kw} values are kept in the image (${kw === 'ARG' ? 'build history' : 'config'}) for anyone who pulls it; use RUN --mount=type=secret,id=${p.key.toLowerCase()} instead`);
    }
  }
}

function lintApt(inst: InternalInstruction, add: Add): void {
  const { node, planned } = inst;
  const script = [node.json ? node.args.join(' ') : (node.args[0] ?? ''), ...node.heredocs.map((h) => h.content)].join('\n');
  const installs = aptInstalls(script);
  if (installs.length === 0) return;
  if (installs.some((c) => !c.yes) && !/\byes\s*\|/.test(script)) {
    add('IMG008', node.startLine, 'apt-get install without -y: the build stops at the confirmation prompt; use apt-get install -y');
  }
  const cacheMount = (planned.mounts ?? []).some((m) => m.type === 'cache' && /^\/var\/(lib|cache)\/apt/.test(m.target ?? ''));
  if (!cacheMount && !/\brm\s+(-[a-zA-Z]+\s+)*[^\n;&|]*\/var\/lib\/apt\/lists/.test(script)) {
    add('IMG009', node.startLine, 'apt-get install without rm -rf /var/lib/apt/lists/* in the same RUN: the package lists stay in the layer; add && rm -rf /var/lib/apt/lists/*');
  }
}

/** The `apt-get install` commands of a shell script, and whether each has -y. */
export function aptInstalls(script: string): { yes: boolean }[] {
  const out: { yes: boolean }[] = [];
  for (const cmd of script.split(/&&|\|\||[;|\n]/)) {
    const words = cmd
      .trim()
      .split(/\s+/)
      .map((w) => w.replace(/^["']|["']$/g, ''));
    const at = words.findIndex((w) => w === 'apt-get' || w.endsWith('/apt-get') || w === 'apt');
    if (at < 0) continue;
    const rest = words.slice(at + 1);
    const sub = rest.find((w) => !w.startsWith('-') && !/^[A-Za-z_]+=/.test(w));
    if (sub !== 'install') continue;
    const yes = rest.some(
      (w) =>
        w === '--yes' ||
        w === '--assume-yes' ||
        w === '--force-yes' ||
        w === '-qq' ||
        w === '-q=2' ||
        /^-[a-zA-Z]*y[a-zA-Z]*$/.test(w) ||
        /^--(yes|assume-yes)=(1|true|yes)$/i.test(w),
    );
    out.push({ yes });
  }
  return out;
}

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Public surface of the Dockerfile planner (re-exported by src/build/index.ts). */
export { planBuild } from './planner.js';
export { matchContextSources, goMatch, cleanSourcePath, type MatchContextOptions } from './match.js';
export { LINT_RULES, LARGE_CONTEXT_BYTES } from './lint.js';
export { isSecretName, credentialFileReason } from './secrets.js';
export type {
  BuildPlan,
  ContextRead,
  CopyDetails,
  CopySource,
  CopySourceKind,
  LayerEffect,
  LintSeverity,
  LintWarning,
  PlanBuildOptions,
  PlanStage,
  PlannedInstruction,
  RunMount,
} from './types.js';

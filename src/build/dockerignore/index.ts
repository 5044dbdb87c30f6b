// .dockerignore reading and matching with moby/patternmatcher's semantics.
export { goCleanPath } from './clean.js';
export { BadPatternError, checkGlobSyntax, compilePattern, type CompiledPattern, type PatternKind } from './pattern.js';
export { PatternListError, PatternMatcher, type ParentMatches } from './matcher.js';
export {
  compileIgnoreLines,
  findIgnoreFile,
  parseIgnoreFile,
  type FindIgnoreFileOptions,
  type IgnoreLine,
  type IgnoreRules,
} from './ignorefile.js';

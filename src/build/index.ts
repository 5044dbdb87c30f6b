// Public surface of src/build; re-exported by src/index.ts.
export {};
// Dockerfile planning: stages, expansion, --target pruning, context reads, lint.
export * from './plan/index.js';
// .dockerignore, the context (walk, minimal selection, tar stream), progress, build orchestration.
export * from './dockerignore/index.js';
export * from './context/index.js';
export * from './progress/index.js';
export { prepareBuildContext, type PrepareBuildContextOptions, type PreparedBuildContext } from './build-context.js';
export { buildImage, defaultBuilder, type BuildImageOptions, type BuildImageResult } from './build.js';

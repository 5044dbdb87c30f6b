// The build context: walking, selecting (minimal context) and streaming it as a tar.
export { compareNames, listContext, walkContext, type ContextEntry, type ContextEntryType, type WalkContextOptions } from './walk.js';
export { assertSendable, contextTar, contextTarSize, hardLinks, tarHeader, type ContextTarOptions, type ContextTarStats, type VirtualFile } from './tar.js';
export { builtExternalImages, builtStages, contextNeeds, selectContext, type BuilderKind, type ContextNeeds, type ContextSelection } from './select.js';
export { loadContext, resolveBuildInput, tarOf, type BuildInput, type LoadedContext, type ResolveBuildInputOptions } from './source.js';

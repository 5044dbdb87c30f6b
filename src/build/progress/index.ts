// Build progress: BuildKit trace decoding, step tracking, displays.
export {
  decodeStatusResponse,
  decodeTraceAux,
  type BuildkitLog,
  type BuildkitStatus,
  type BuildkitStatusResponse,
  type BuildkitVertex,
  type BuildkitWarning,
} from './buildkit.js';
export { BuildProgressTracker, type BuildFailureInfo, type ProgressEvent } from './tracker.js';
export { createRenderer, JsonRenderer, PlainRenderer, QuietRenderer, SpinnerRenderer, type ProgressMode, type ProgressRenderer } from './render.js';

// Registry operations carried out by the Docker Engine: pull, tag, push.
export { pushThroughEngine, pushedTagOf, describeSource, type EnginePushOptions, type EnginePushResult, type PushedTag } from './push.js';
export { pullThroughEngine, type EnginePullOptions, type EnginePullResult } from './pull.js';
export { tagThroughEngine, isImageId, type EngineTagResult } from './tag.js';
export { LayerProgress, type LayerState, type LayerProgressEvent, type ProgressSummary } from './progress.js';
export { hintFor as engineFailureHint, explainStreamFailure, explainEnginePushFailure, statusOfStreamMessage, type ExplainEngineFailureOptions } from './explain.js';

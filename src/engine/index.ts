// Public surface of src/engine; re-exported by src/index.ts.
export { connectEngine } from './client.js';
export type { ConnectEngineOptions, EngineBody, EngineClient } from './client.js';
export {
  DEFAULT_CONTEXT_NAME,
  DEFAULT_DOCKER_HOST,
  DEFAULT_TCP_PORT,
  DEFAULT_TLS_TCP_PORT,
  contextDirName,
  dockerConfigDir,
  parseDockerHost,
  resolveEndpoint,
  sshArgs,
} from './endpoint.js';
export type { EndpointOptions, EndpointSource, EndpointSsh, EndpointTls, EngineEndpoint } from './endpoint-types.js';
export { ANONYMOUS_REGISTRY_AUTH, encodeRegistryHeader, redactHeaders, redactPath } from './headers.js';
export { isErrorMessage, readJsonMessages, streamError } from './json-stream.js';
export { MAX_API_VERSION, MIN_API_VERSION, compareApiVersions, negotiateApiVersion } from './versions.js';
export type * from './types.js';
export { DaemonImage, daemonHistory, daemonScan, inferEmptyLayers, type DaemonHistory } from './image-source.js';

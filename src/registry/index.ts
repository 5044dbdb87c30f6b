// Public surface of src/registry; re-exported by src/index.ts.
export {};
export * from './credentials/index.js';
export * from './engine-ops/index.js';
export { openRemoteImage, RemoteImage, type OpenRemoteOptions } from './image-source.js';
// Distribution API client, login verification, remote tag, direct push, Harbor/Hub advice.
export {
  RegistryClient,
  type RegistryClientOptions,
  type PingResult as RegistryPingResult,
  type FetchedManifest,
  type ManifestHead,
  type UploadSession,
  type MountResult,
  type ClientStats,
} from './client/client.js';
export { verifyLogin, type VerifyLoginOptions, type VerifyLoginResult } from './client/login.js';
export { uploadBlob, bufferBlob, fileBlob, type BlobSource, type UploadBlobOptions } from './client/upload.js';
export { parseChallenges, type Challenge } from './client/challenge.js';
export { pullScope, pushScope, type Scope } from './client/scope.js';
export type { RetryPolicy } from './client/retry.js';
export type { RegistryCredentials } from './client/types.js';
export { remoteTag, type RemoteTagOptions, type RemoteTagResult } from './remote-tag.js';
export {
  pushDirect,
  engineSource,
  dockerArchiveSource,
  type PushDirectOptions,
  type PushResult,
  type PushProgress,
  type SaveTarSource,
  type BlobOutcome,
} from './push-direct/push.js';
export { BlobLocations } from './push-direct/blob-locations.js';
export { explainRegistryFailure, type FailureContext } from './diagnose.js';
export { explainHarborFailure, harborProjectExists, isRobotAccount } from './harbor.js';
export { explainHubFailure, parseRateLimit } from './hub.js';

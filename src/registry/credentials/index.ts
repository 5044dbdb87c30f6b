// Credentials: config.json, credential helpers, DOCKER_AUTH_CONFIG and the Engine API's auth headers.
export type { Credentials, CredentialOptions, CredentialSource } from './types.js';
export {
  resolveCredentials,
  resolveCredentialsWithSource,
  storeCredentials,
  eraseCredentials,
  allCredentialsForBuild,
  type ResolvedCredentials,
  type StoreResult,
  type EraseResult,
} from './store.js';
export { encodeRegistryAuth, encodeRegistryConfig, base64UrlPadded, decodeBase64UrlJson, toEngineAuthConfig, type EngineAuthConfig } from './encode.js';
export { DOCKER_HUB_CONFIG_KEY, configKeyFor, convertToHostname } from './keys.js';
export { configDir, configPath, loadConfig, parseConfig, writeConfigAtomic, withConfigLock, type ConfigFileContent, type AuthEntry, type LoadedConfig, type ConfigLockOptions } from './config-file.js';
export { helperGet, helperStore, helperErase, helperList, helperProgram, CREDENTIALS_NOT_FOUND_MESSAGE, IDENTITY_TOKEN_USERNAME, type HelperCredentials, type HelperOptions } from './helper.js';

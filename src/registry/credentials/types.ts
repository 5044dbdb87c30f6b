/**
 * Credential types shared by the config.json reader, the credential-helper client and the
 * callers (login, push, build). Field names follow the docker CLI's AuthConfig.
 */

/** Credentials for one registry. An empty object never leaves this module: "no credentials" is `undefined`. */
export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** OAuth2 refresh token from a previous login (`identitytoken`); used instead of a password. */
  readonly identityToken?: string;
  /** A bearer token sent as-is to the registry (`registrytoken`). */
  readonly registryToken?: string;
}

/** Options every credential operation takes. Library code reads no globals: the caller passes env and home. */
export interface CredentialOptions {
  /** Environment: DOCKER_CONFIG, DOCKER_AUTH_CONFIG, PATH (for docker-credential-* helpers), HOME. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Home directory for `~/.docker` when DOCKER_CONFIG is unset (default: env.HOME, then os.homedir()). */
  readonly homedir?: string;
  readonly signal?: AbortSignal;
  /**
   * Reading credentials for a pull: a missing or failing credential helper then gives a
   * warning and anonymous access instead of an error, so public images still pull.
   */
  readonly forPull?: boolean;
  /** Receives warnings (never secrets); the CLI prints them on stderr. */
  readonly warn?: (message: string) => void;
}

/** Where a credential came from, for `--debug` and messages (never the secret itself). */
export type CredentialSource =
  | { readonly kind: 'env'; readonly key: string }
  | { readonly kind: 'file'; readonly key: string; readonly path: string }
  | { readonly kind: 'helper'; readonly key: string; readonly helper: string };

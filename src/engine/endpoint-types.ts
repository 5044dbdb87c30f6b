/** The shape of a resolved Engine endpoint (see endpoint.ts for how it is chosen). */

/**
 * Where the endpoint came from, in the docker CLI's order of precedence:
 * `--context`, `-H`, `DOCKER_HOST`, `DOCKER_CONTEXT`, `currentContext` in config.json, default.
 */
export type EndpointSource =
  | 'context-flag'
  | 'host-flag'
  | 'DOCKER_HOST'
  | 'DOCKER_CONTEXT'
  | 'config-current-context'
  | 'default';

/** TLS settings for a tcp:// endpoint. File paths, read when the client connects. */
export interface EndpointTls {
  /** Verify the daemon's certificate (`--tlsverify`, `DOCKER_TLS_VERIFY`, context without SkipTLSVerify). */
  readonly verify: boolean;
  /** CA bundle to trust instead of the system roots (only used when verifying). */
  readonly caFile?: string;
  /** Client certificate (PEM). */
  readonly certFile?: string;
  /** Client key (PEM). */
  readonly keyFile?: string;
}

/** Target of an ssh:// endpoint. */
export interface EndpointSsh {
  readonly user?: string;
  readonly host: string;
  readonly port?: string;
  /** Remote socket path from `ssh://host/path/to/docker.sock`. */
  readonly socketPath?: string;
}

/** An Engine endpoint, and how it was chosen. */
export interface EngineEndpoint {
  /** Normalised address: unix:///var/run/docker.sock, tcp://host:2376[/base], ssh://user@host:22. */
  readonly host: string;
  readonly scheme: 'unix' | 'tcp' | 'ssh';
  /** Which setting chose it. */
  readonly source: EndpointSource;
  /** The same for humans: "-H/--host", "DOCKER_HOST", 'context "ci" (--context)', "default". */
  readonly how: string;
  /** Name of the docker context in effect ("default" unless a stored context was used). */
  readonly context: string;
  /** unix: path of the socket. */
  readonly socketPath?: string;
  /** tcp: host name, port and optional base path (no trailing slash). */
  readonly tcp?: { readonly hostname: string; readonly port: number; readonly basePath: string };
  /** tcp: TLS settings when TLS is on. */
  readonly tls?: EndpointTls;
  /** ssh: where to run `docker system dial-stdio`. */
  readonly ssh?: EndpointSsh;
  /** Things the user should know (e.g. an unreadable config.json that was ignored, as the CLI does). */
  readonly warnings: readonly string[];
}

/** Inputs of endpoint resolution: the CLI's global flags plus the environment. */
export interface EndpointOptions {
  /** `-H/--host`. */
  readonly host?: string;
  /** `--context`. */
  readonly context?: string;
  /** `--tls`. */
  readonly tls?: boolean;
  /** `--tlsverify`. */
  readonly tlsverify?: boolean;
  /** `--tlscacert`. */
  readonly tlscacert?: string;
  /** `--tlscert`. */
  readonly tlscert?: string;
  /** `--tlskey`. */
  readonly tlskey?: string;
  /** Environment (DOCKER_HOST, DOCKER_CONTEXT, DOCKER_CONFIG, DOCKER_TLS*, DOCKER_CERT_PATH, HOME). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal?: AbortSignal;
}

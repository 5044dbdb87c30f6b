/**
 * Types of the Docker Engine API as imgtool uses them: the daemon's answers (PascalCase, as
 * the daemon sends them), the JSON message stream, and imgtool's own request parameters.
 * Only the fields imgtool reads are typed; everything else is kept by index signatures.
 */

/** Progress of one item in a JSON message stream (bytes, or steps). */
export interface JsonProgressDetail {
  readonly current?: number;
  readonly total?: number;
  readonly [key: string]: unknown;
}

/** The failure carried by a JSON message stream line. */
export interface JsonErrorDetail {
  /** Exit-code-like number; the docker CLI uses it as its exit code. */
  readonly code?: number;
  readonly message?: string;
}

/**
 * One object of the Engine's JSON message stream (build, push, pull, load): see
 * protocols.md §1.3. A message with `error` or `errorDetail` is never yielded by
 * `readJsonMessages`; it is thrown as ImgtoolError('ENGINE_STREAM').
 */
export interface JsonMessage {
  /** Build output text (classic builder), usually ending in "\n". */
  readonly stream?: string;
  /** Status text (push/pull/load): "Pushing", "Pushed", "<tag>: digest: sha256:... size: N". */
  readonly status?: string;
  /** Item the status is about (layer id), or "moby.buildkit.trace" / "moby.image.id" for BuildKit. */
  readonly id?: string;
  readonly progressDetail?: JsonProgressDetail;
  /** Rendered progress bar; dropped in Engine 29, use `progressDetail`. */
  readonly progress?: string;
  readonly errorDetail?: JsonErrorDetail;
  /** Legacy error string. */
  readonly error?: string;
  /** Out-of-band data: `{"ID":"sha256:..."}` after a build, a base64 BuildKit trace, push digests. */
  readonly aux?: unknown;
  readonly [key: string]: unknown;
}

/** What `HEAD/GET /_ping` reports, from its response headers. */
export interface PingResult {
  /** `Api-Version`: the daemon's newest API version, e.g. "1.41" (undefined when absent). */
  readonly apiVersion: string | undefined;
  /** `Builder-Version`: "2" when BuildKit is the daemon's default builder, "1" for classic. */
  readonly builderVersion: string | undefined;
  /** `OSType`: "linux" or "windows". */
  readonly osType: string | undefined;
  /** `Docker-Experimental: true`. */
  readonly experimental: boolean;
  /** `Swarm` header, e.g. "inactive". */
  readonly swarm: string | undefined;
}

/** One component of `GET /version` (Engine, containerd, runc...). */
export interface EngineVersionComponent {
  readonly Name: string;
  readonly Version: string;
  readonly Details?: Readonly<Record<string, string>>;
}

/** `GET /version`. */
export interface EngineVersion {
  readonly Version: string;
  readonly ApiVersion: string;
  readonly MinAPIVersion?: string;
  readonly GitCommit?: string;
  readonly GoVersion?: string;
  readonly Os: string;
  readonly Arch: string;
  readonly KernelVersion?: string;
  readonly BuildTime?: string;
  readonly Experimental?: boolean;
  readonly Platform?: { readonly Name: string };
  readonly Components?: readonly EngineVersionComponent[];
  readonly [key: string]: unknown;
}

/** `GET /info` (the fields imgtool shows). */
export interface SystemInfo {
  readonly ID?: string;
  readonly Name?: string;
  readonly ServerVersion?: string;
  readonly Driver?: string;
  readonly DockerRootDir?: string;
  readonly OperatingSystem?: string;
  readonly OSType?: string;
  readonly Architecture?: string;
  readonly KernelVersion?: string;
  readonly NCPU?: number;
  readonly MemTotal?: number;
  readonly Images?: number;
  readonly [key: string]: unknown;
}

/** The image config part of `GET /images/{name}/json` (`Config`). */
export interface ImageInspectConfig {
  readonly User?: string;
  readonly Env?: readonly string[] | null;
  readonly Cmd?: readonly string[] | null;
  readonly Entrypoint?: readonly string[] | null;
  readonly WorkingDir?: string;
  readonly Labels?: Readonly<Record<string, string>> | null;
  readonly ExposedPorts?: Readonly<Record<string, unknown>> | null;
  readonly Volumes?: Readonly<Record<string, unknown>> | null;
  readonly StopSignal?: string;
  readonly Healthcheck?: unknown;
  readonly OnBuild?: readonly string[] | null;
  readonly [key: string]: unknown;
}

/** `GET /images/{name}/json`. */
export interface ImageInspect {
  /** "sha256:<hex>" of the image config. */
  readonly Id: string;
  readonly RepoTags: readonly string[] | null;
  readonly RepoDigests: readonly string[] | null;
  readonly Parent?: string;
  readonly Comment?: string;
  /** RFC 3339 time. */
  readonly Created: string;
  readonly DockerVersion?: string;
  readonly Author?: string;
  readonly Config: ImageInspectConfig | null;
  readonly Architecture: string;
  readonly Variant?: string;
  readonly Os: string;
  readonly OsVersion?: string;
  /** Sum of the layers' sizes in bytes. */
  readonly Size: number;
  /** Gone from API 1.44; equal to Size before. */
  readonly VirtualSize?: number;
  readonly RootFS: { readonly Type: string; readonly Layers?: readonly string[] };
  readonly Metadata?: { readonly LastTagTime?: string };
  readonly [key: string]: unknown;
}

/** One entry of `GET /images/{name}/history`; the array is newest first. */
export interface ImageHistoryEntry {
  /** Image id, or "<missing>" for entries without a local parent image. */
  readonly Id: string;
  /** Unix seconds. */
  readonly Created: number;
  readonly CreatedBy: string;
  readonly Tags: readonly string[] | null;
  /** Diff size of the layer this step made; 0 for empty layers. */
  readonly Size: number;
  readonly Comment: string;
}

/** `POST /auth` result. */
export interface AuthResult {
  readonly status: string;
  /** Token to store instead of the password, when the registry issued one. */
  readonly identityToken?: string;
}

/** Credentials for `POST /auth` (never logged). */
export interface AuthConfig {
  readonly username?: string;
  readonly password?: string;
  readonly serveraddress: string;
  readonly identitytoken?: string;
  readonly registrytoken?: string;
  readonly email?: string;
}

/** One `outputs` entry of `POST /build` (BuildKit only, API ≥ 1.40). */
export interface BuildOutput {
  readonly type: string;
  readonly attrs?: Readonly<Record<string, string>>;
}

/**
 * Query parameters of `POST /build` (protocols.md §1.2), imgtool-named. Unset fields are not
 * sent, so the daemon's defaults apply (e.g. `rm` defaults to true).
 */
export interface BuildParams {
  /** `t`, repeated. */
  readonly tags?: readonly string[];
  /** Path of the Dockerfile inside the context; default "Dockerfile". */
  readonly dockerfile?: string;
  readonly target?: string;
  /** `buildargs`; a null value means "--build-arg NAME" without a value (taken from the daemon's env). */
  readonly buildArgs?: Readonly<Record<string, string | null>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly cacheFrom?: readonly string[];
  readonly noCache?: boolean;
  readonly pull?: boolean;
  /** `q`: only the image id on success. */
  readonly quiet?: boolean;
  readonly rm?: boolean;
  readonly forceRm?: boolean;
  readonly networkMode?: string;
  /** `os[/arch[/variant]]`. */
  readonly platform?: string;
  readonly outputs?: readonly BuildOutput[];
  /** "1" classic (daemon default), "2" BuildKit. */
  readonly version?: '1' | '2';
  /** `extrahosts`, "host:ip", repeated. */
  readonly extraHosts?: readonly string[];
  /** `shmsize` in bytes. */
  readonly shmSize?: number;
  /** `buildid`, to cancel a BuildKit build with POST /build/cancel. */
  readonly buildId?: string;
}

/** Request options for {@link EngineClient.build}. */
export interface BuildRequestOptions {
  /** Extra headers, e.g. `X-Registry-Config` (see `encodeRegistryHeader`). Redacted in logs. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options for {@link EngineClient.imagePush}. */
export interface ImagePushOptions {
  /** Tag to push; without it the daemon pushes every tag of the repository. */
  readonly tag?: string;
  /** `X-Registry-Auth` value (padded base64url JSON, see `encodeRegistryHeader`); always sent. */
  readonly registryAuth: string;
}

/** Options for {@link EngineClient.imageCreate} (a pull). */
export interface ImageCreateOptions {
  /** Repository (and optionally `:tag` or `@digest`) to pull. */
  readonly fromImage: string;
  readonly tag?: string;
  /** `os[/arch[/variant]]`. */
  readonly platform?: string;
  /** `X-Registry-Auth` value; `encodeRegistryHeader({})` (anonymous) when absent. */
  readonly registryAuth?: string;
}

/** Options for {@link EngineClient.imageRemove}. */
export interface ImageRemoveOptions {
  readonly force?: boolean;
  readonly noprune?: boolean;
}

/** One entry of `DELETE /images/{name}`. */
export interface ImageDeleteEntry {
  readonly Untagged?: string;
  readonly Deleted?: string;
}

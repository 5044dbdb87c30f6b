/**
 * What `imgtool init` learns about a project. Detection fills these in; rendering turns
 * them into a Dockerfile and a .dockerignore. Kept as plain data so tests can build one by
 * hand and so `--json` could print it.
 */

/** Languages `imgtool init` writes Dockerfiles for. */
export type InitLanguage = 'go' | 'node';

/** Node package managers, told apart by their lockfile. */
export type NodePackageManager = 'npm' | 'yarn' | 'yarn-berry' | 'pnpm';

/** A fact found during detection, with where it came from (shown as a Dockerfile comment). */
export interface InitFinding {
  /** What was found, e.g. "package manager: npm". */
  readonly what: string;
  /** Where or why, e.g. "package-lock.json". */
  readonly source: string;
}

/** A dependency that runs scripts or compiles native code at install time. */
export interface NativeDependency {
  readonly name: string;
  readonly version: string;
  /** Why it counts: "binding.gyp", "install script", ... */
  readonly reason: string;
  /** True when it is only a dev dependency (needed by the build stage, not the runtime). */
  readonly dev: boolean;
}

/** A Node project, as detected from package.json, the lockfile and the dependency tree. */
export interface NodeProject {
  readonly language: 'node';
  readonly dir: string;
  /** package.json `name` (or the directory name). */
  readonly name: string;
  readonly packageManager: NodePackageManager;
  /** The lockfile's name relative to `dir`, undefined when there is none. */
  readonly lockfile: string | undefined;
  /** Where the Node version came from and the image tag chosen for it. */
  readonly node: {
    /** The raw requirement ("20", ">=18", "20.18.0"), undefined when nothing asked for one. */
    readonly requested: string | undefined;
    /** ".nvmrc", ".node-version", "engines.node" or "default". */
    readonly source: string;
    /** Tag part of the base image, e.g. "20.18". */
    readonly tag: string;
  };
  /** Counts from the dependency tree (0 when it could not be read). */
  readonly dependencies: { readonly production: number; readonly development: number };
  /** How the tree was read: "lockfile", "node_modules" or "package.json only". */
  readonly treeSource: string;
  readonly native: readonly NativeDependency[];
  /** Workspaces: name and directory relative to `dir`. */
  readonly workspaces: readonly { readonly name: string; readonly dir: string }[];
  /**
   * Files the install step needs besides package.json and the lockfile, relative to `dir`:
   * workspace manifests, vendored `file:` tarballs and linked local packages. Directories end
   * with `/`.
   */
  readonly installInputs: readonly string[];
  /** The command the runtime image starts with (exec form) and why. */
  readonly entry: { readonly command: readonly string[]; readonly source: string; readonly guessed: boolean };
  /** The build script to run, undefined when the project has none. */
  readonly build: { readonly script: string; readonly typescript: boolean; readonly outputs: readonly string[] } | undefined;
  /** True when a .npmrc exists (it is kept out of the context: it may hold a token). */
  readonly hasNpmrc: boolean;
  readonly findings: readonly InitFinding[];
  /** Things the user should check; printed on stderr and as Dockerfile comments. */
  readonly warnings: readonly string[];
}

/** A Go main package: its import directory and the binary name. */
export interface GoMainPackage {
  /** Relative to the module root, "." or "./cmd/server". */
  readonly dir: string;
  readonly binary: string;
}

/** A Go module, as detected from go.mod and its sources. */
export interface GoProject {
  readonly language: 'go';
  readonly dir: string;
  readonly module: string;
  /** The `go` line, e.g. "1.22" or "1.22.3". */
  readonly goVersion: string | undefined;
  /** The `toolchain` line without the "go" prefix, e.g. "1.22.5". */
  readonly toolchain: string | undefined;
  /** Tag part of the builder image, e.g. "1.22". */
  readonly imageTag: string;
  readonly hasGoSum: boolean;
  /** True when vendor/modules.txt exists (no download step needed). */
  readonly vendored: boolean;
  /** All main packages found (root and cmd/*). */
  readonly mains: readonly GoMainPackage[];
  /** The one the image runs. */
  readonly main: GoMainPackage;
  /** Files (relative) that `import "C"`, and known cgo modules required by go.mod. */
  readonly cgo: readonly string[];
  /** True when CGO_ENABLED=0 can build it, so the binary is static. */
  readonly static: boolean;
  /** Local `replace` targets (relative directories, no trailing `/`) that `go mod download` needs. */
  readonly localReplaces: readonly string[];
  /** Top-level directories holding build output, not sources (bin, dist): kept out of the context. */
  readonly buildOutputDirs: readonly string[];
  readonly findings: readonly InitFinding[];
  readonly warnings: readonly string[];
}

/** Either kind of project. */
export type InitProject = NodeProject | GoProject;

/** The files `imgtool init` writes. */
export interface InitOutput {
  readonly dockerfile: string;
  readonly dockerignore: string;
  /** A few lines for stderr: what was detected and what to check. */
  readonly summary: readonly string[];
}

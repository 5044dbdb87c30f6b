/**
 * The small part of @npmcli/arborist (which ships no types) that `imgtool init` reads.
 * Arborist's own docs (README "Data Structures") describe these fields.
 */
declare module '@npmcli/arborist' {
  /** A package.json as arborist hands it over (possibly from lockfile metadata only). */
  interface ArboristPackage {
    readonly name?: string;
    readonly version?: string;
    readonly scripts?: Record<string, string>;
    readonly gypfile?: boolean;
    readonly hasInstallScript?: boolean;
    readonly [key: string]: unknown;
  }

  /** One package in the tree: the root, a dependency, a workspace or a link to one. */
  interface ArboristNode {
    readonly name: string;
    readonly version: string;
    /** Path relative to the root, `''` for the root itself. */
    readonly location: string;
    readonly path: string;
    readonly realpath: string;
    readonly isLink: boolean;
    readonly isWorkspace: boolean;
    readonly isProjectRoot: boolean;
    readonly dev: boolean;
    readonly optional: boolean;
    readonly devOptional: boolean;
    readonly peer: boolean;
    readonly extraneous: boolean;
    /** `file:...` for local tarballs/directories, a URL for registry packages, null when unknown. */
    readonly resolved: string | null;
    readonly hasInstallScript: boolean;
    readonly package: ArboristPackage;
    readonly target: ArboristNode;
    /** Workspace name -> absolute path; only on the root, null without workspaces. */
    readonly workspaces: Map<string, string> | null;
    /** Every node under the root, keyed by location. */
    readonly inventory: Map<string, ArboristNode>;
    /** Dependencies declared by this node (root: its package.json). */
    readonly edgesOut: Map<string, { readonly type: string; readonly spec: string; readonly to: ArboristNode | null }>;
  }

  interface ArboristOptions {
    readonly path: string;
    readonly [key: string]: unknown;
  }

  /** Reads dependency trees from a lockfile (virtual) or node_modules (actual). */
  class Arborist {
    constructor(options: ArboristOptions);
    loadVirtual(options?: Record<string, unknown>): Promise<ArboristNode>;
    loadActual(options?: Record<string, unknown>): Promise<ArboristNode>;
  }

  export default Arborist;
  export type { ArboristNode, ArboristPackage, ArboristOptions };
}

/**
 * The `history` and `inspect` reports as stable, documented data (what `--json` prints).
 * Builders here are pure: sources gather configs, layer facts and listings; the CLI renders.
 */
import type { ImgtoolError } from '../image/errors.js';
import type { ImageConfig } from '../image/manifest.js';
import { formatPlatform } from '../image/platform.js';
import { configPlatform } from '../image/manifest.js';
import type { FileAnalysis, FileRef, WastedFile } from './analysis.js';
import { cleanCreatedBy, mapHistory } from './history.js';

/** Facts about one layer a source knows. */
export interface LayerFacts {
  readonly diffId: string;
  /** Compressed blob digest (registry, OCI layout). */
  readonly digest?: string;
  /** Compressed blob size (registry, OCI layout). */
  readonly compressedSize?: number;
  readonly mediaType?: string;
  /** Content size as the engine counts it (see listing.ts), when known. */
  readonly size?: number;
}

/** Where the per-layer uncompressed sizes came from. */
export type SizeOrigin =
  /** the engine's `/images/{name}/history` Size */
  | 'engine'
  /** streamed every layer tar and counted (archive, OCI layout, registry with --uncompressed) */
  | 'computed'
  /** not known without downloading layers (registry source without --uncompressed) */
  | 'unavailable';

/** How history rows were matched to layers. */
export type LayerMapping =
  /** the config's `empty_layer` flags */
  | 'config'
  /** the engine's history sizes and instruction kinds (the engine does not expose the flags; exact when unambiguous) */
  | 'inferred';

/**
 * `imgtool history --json` (schemaVersion 1):
 * ```
 * {
 *   "schemaVersion": 1,
 *   "image": "docker://127.0.0.1:5000/app:1",   // source, skopeo-style
 *   "resolvedFrom"?: "engine" | "registry",     // only for bare references
 *   "platform": "linux/amd64",
 *   "configDigest"?: "sha256:…",                // image id
 *   "manifestDigest"?: "sha256:…",
 *   "sizes": { "uncompressed": "engine"|"computed"|"unavailable", "compressed": boolean },
 *   "layerMapping": "config" | "inferred",
 *   "rows": [ {                                 // newest first, like docker history
 *     "created"?: "2024-01-01T00:00:00Z",       // absolute (RFC 3339, as recorded)
 *     "createdRelative"?: "3 days ago",
 *     "createdBy": "RUN apk add curl",          // cleaned of "/bin/sh -c #(nop) "
 *     "createdByRaw": "/bin/sh -c apk add curl",
 *     "comment"?: string, "author"?: string,
 *     "emptyLayer": boolean,                    // true: the step made no layer
 *     "layer"?: { "index": 0, "diffId": "sha256:…", "digest"?: "sha256:…",
 *                 "mediaType"?: string, "size"?: number, "compressedSize"?: number },
 *     "cumulativeSize"?: number,                // uncompressed, base up to this row
 *     "cumulativeCompressedSize"?: number
 *   } ],
 *   "totals": { "entries": n, "layers": n, "emptyLayers": n, "size"?: number, "compressedSize"?: number },
 *   "malformed"?: { "code": "CONFIG_INVALID", "message": string }  // history/layer counts disagree
 * }
 * ```
 * Sizes are bytes. `size` is the layer's content size as `docker history` counts it.
 */
export interface HistoryReport {
  readonly schemaVersion: 1;
  readonly image: string;
  readonly resolvedFrom?: 'engine' | 'registry';
  readonly platform: string;
  readonly configDigest?: string;
  readonly manifestDigest?: string;
  readonly sizes: { readonly uncompressed: SizeOrigin; readonly compressed: boolean };
  readonly layerMapping: LayerMapping;
  readonly rows: readonly HistoryReportRow[];
  readonly totals: {
    readonly entries: number;
    readonly layers: number;
    readonly emptyLayers: number;
    readonly size?: number;
    readonly compressedSize?: number;
  };
  readonly malformed?: { readonly code: string; readonly message: string };
}

/** One row of {@link HistoryReport}. */
export interface HistoryReportRow {
  readonly created?: string;
  readonly createdRelative?: string;
  readonly createdBy: string;
  readonly createdByRaw: string;
  readonly comment?: string;
  readonly author?: string;
  readonly emptyLayer: boolean;
  readonly layer?: {
    readonly index: number;
    readonly diffId: string;
    readonly digest?: string;
    readonly mediaType?: string;
    readonly size?: number;
    readonly compressedSize?: number;
  };
  readonly cumulativeSize?: number;
  readonly cumulativeCompressedSize?: number;
}

/** "3 days ago", "About an hour ago"… close to docker's go-units HumanDuration. */
export function relativeTime(then: Date, now: Date): string {
  const s = Math.round((now.getTime() - then.getTime()) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 0) return 'in the future';
  if (s < 1) return 'Less than a second ago';
  if (s < 60) return `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m === 1) return 'About a minute ago';
  if (m < 60) return `${m} minutes ago`;
  const h = Math.round(s / 3600);
  if (h === 1) return 'About an hour ago';
  if (h < 48) return `${h} hours ago`;
  const d = Math.round(s / 86400);
  if (d < 14) return `${d} days ago`;
  if (d < 60) return `${Math.round(d / 7)} weeks ago`;
  if (d < 730) return `${Math.round(d / 30)} months ago`;
  return `${Math.round(d / 365)} years ago`;
}

/** What both reports say first: which image, where it was found, its platform and digests. */
interface ReportHeaderInput {
  readonly image: string;
  readonly resolvedFrom?: 'engine' | 'registry';
  readonly config: ImageConfig;
  readonly configDigest?: string;
  readonly manifestDigest?: string;
}

function reportHeader(input: ReportHeaderInput): {
  schemaVersion: 1;
  image: string;
  resolvedFrom?: 'engine' | 'registry';
  platform: string;
  configDigest?: string;
  manifestDigest?: string;
} {
  return {
    schemaVersion: 1,
    image: input.image,
    ...(input.resolvedFrom === undefined ? {} : { resolvedFrom: input.resolvedFrom }),
    platform: formatPlatform(configPlatform(input.config)),
    ...(input.configDigest === undefined ? {} : { configDigest: input.configDigest }),
    ...(input.manifestDigest === undefined ? {} : { manifestDigest: input.manifestDigest }),
  };
}

/** Inputs of {@link buildHistoryReport}. */
export interface HistoryReportInput {
  readonly image: string;
  readonly resolvedFrom?: 'engine' | 'registry';
  readonly config: ImageConfig;
  readonly layers: readonly LayerFacts[];
  readonly sizeOrigin: SizeOrigin;
  readonly layerMapping?: LayerMapping;
  readonly configDigest?: string;
  readonly manifestDigest?: string;
  readonly now: Date;
}

/** Builds the history report; a malformed config yields rows plus `malformed`, never a throw. */
export function buildHistoryReport(input: HistoryReportInput): HistoryReport {
  const mapping = mapHistory(input.config);
  const compressedKnown = input.layers.length > 0 && input.layers.every((l) => l.compressedSize !== undefined);
  const sizesKnown = input.layers.every((l) => l.size !== undefined);
  let cum = 0;
  let cumC = 0;
  const oldestFirst: HistoryReportRow[] = mapping.rows.map((r) => {
    const facts = r.layerIndex === undefined ? undefined : input.layers[r.layerIndex];
    if (facts?.size !== undefined) cum += facts.size;
    if (facts?.compressedSize !== undefined) cumC += facts.compressedSize;
    const created = r.created !== undefined && !Number.isNaN(Date.parse(r.created)) ? r.created : undefined;
    const row: HistoryReportRow = {
      ...(created === undefined ? {} : { created, createdRelative: relativeTime(new Date(created), input.now) }),
      createdBy: cleanCreatedBy(r.createdBy),
      createdByRaw: r.createdBy,
      ...(r.comment === undefined ? {} : { comment: r.comment }),
      ...(r.author === undefined ? {} : { author: r.author }),
      emptyLayer: r.emptyLayer,
      ...(r.layerIndex === undefined || r.diffId === undefined
        ? {}
        : {
            layer: {
              index: r.layerIndex,
              diffId: r.diffId,
              ...(facts?.digest === undefined ? {} : { digest: facts.digest }),
              ...(facts?.mediaType === undefined ? {} : { mediaType: facts.mediaType }),
              ...(facts?.size === undefined ? {} : { size: facts.size }),
              ...(facts?.compressedSize === undefined ? {} : { compressedSize: facts.compressedSize }),
            },
          }),
      ...(sizesKnown ? { cumulativeSize: cum } : {}),
      ...(compressedKnown ? { cumulativeCompressedSize: cumC } : {}),
    };
    return row;
  });
  const malformed: ImgtoolError | undefined = mapping.malformed;
  return {
    ...reportHeader(input),
    sizes: { uncompressed: input.sizeOrigin, compressed: compressedKnown },
    layerMapping: input.layerMapping ?? 'config',
    rows: oldestFirst.reverse(),
    totals: {
      entries: mapping.rows.length,
      layers: input.layers.length,
      emptyLayers: mapping.rows.filter((r) => r.emptyLayer).length,
      ...(sizesKnown ? { size: input.layers.reduce((a, l) => a + (l.size ?? 0), 0) } : {}),
      ...(compressedKnown ? { compressedSize: input.layers.reduce((a, l) => a + (l.compressedSize ?? 0), 0) } : {}),
    },
    ...(malformed === undefined ? {} : { malformed: { code: malformed.code, message: malformed.message } }),
  };
}

/** A CI gate and its outcome. */
export interface GateResult {
  readonly gate: 'max-size' | 'max-wasted' | 'min-efficiency';
  readonly limit: number;
  readonly actual: number;
  readonly passed: boolean;
}

/** Gates asked for on the command line. */
export interface Gates {
  readonly maxSize?: number;
  readonly maxWasted?: number;
  readonly minEfficiency?: number;
}

/** Evaluates gates against an analysis (`max-size` against the image's total content size). */
export function evaluateGates(gates: Gates, analysis: Pick<FileAnalysis, 'totalBytes' | 'wastedBytes' | 'efficiency'>): GateResult[] {
  const out: GateResult[] = [];
  if (gates.maxSize !== undefined) out.push({ gate: 'max-size', limit: gates.maxSize, actual: analysis.totalBytes, passed: analysis.totalBytes <= gates.maxSize });
  if (gates.maxWasted !== undefined) out.push({ gate: 'max-wasted', limit: gates.maxWasted, actual: analysis.wastedBytes, passed: analysis.wastedBytes <= gates.maxWasted });
  if (gates.minEfficiency !== undefined) out.push({ gate: 'min-efficiency', limit: gates.minEfficiency, actual: analysis.efficiency, passed: analysis.efficiency >= gates.minEfficiency });
  return out;
}

/**
 * `imgtool inspect --json` (schemaVersion 1):
 * ```
 * {
 *   "schemaVersion": 1,
 *   "image": "docker-archive:/tmp/app.tar",
 *   "resolvedFrom"?: "engine" | "registry",
 *   "platform": "linux/amd64",
 *   "configDigest"?: "sha256:…", "manifestDigest"?: "sha256:…",
 *   "totalBytes": n,       // Σ content size of every layer (what `docker images` calls SIZE)
 *   "wastedBytes": n,      // bytes shipped in a layer but overwritten or deleted by a later one
 *   "finalBytes": n,       // totalBytes − wastedBytes: bytes visible in the final filesystem
 *   "finalFiles": n,       // non-directory entries visible in the final filesystem
 *   "efficiency": 0..1,    // 1 − wastedBytes/totalBytes (1 for an empty image)
 *   "compressedBytes"?: n, // Σ compressed layer sizes when the source has blobs
 *   "tarBytes": n,         // Σ uncompressed tar stream sizes (headers and padding included)
 *   "layers": [ {
 *     "index": 0, "diffId": "sha256:…", "digest"?: "sha256:…", "compressedSize"?: n,
 *     "size": n,           // content size, as docker history counts it
 *     "tarSize": n,
 *     "createdBy"?: "RUN …",                  // the history entry that made the layer
 *     "added":   { "count": n, "bytes": n },  // non-directory entries new at their path
 *     "changed": { "count": n, "bytes": n },  // entries replacing a lower one
 *     "removed": { "paths": ["var/cache/", "tmp/big"], "files": n, "bytes": n },
 *                            // whiteout targets ("dir/" = opaque dir) and what they hid
 *     "biggest": [ { "path": "usr/bin/x", "size": n, "kind": "file"|"symlink"|"hardlink"|"other" } ]
 *   } ],
 *   "wasted": [ { "path": "tmp/big", "size": n, "layer": 1, "hiddenBy": 2,
 *                 "how": "overwritten"|"deleted" } ],   // largest first; complete list
 *   "biggest": [ … ],      // largest files of the final filesystem
 *   "gates": [ { "gate": "max-size"|"max-wasted"|"min-efficiency", "limit": n, "actual": n, "passed": bool } ],
 *   "passed": bool         // false when any gate failed (the command then exits 1, GATE_FAILED)
 * }
 * ```
 * Paths are relative to the image root, without a leading slash.
 */
export interface InspectReport {
  readonly schemaVersion: 1;
  readonly image: string;
  readonly resolvedFrom?: 'engine' | 'registry';
  readonly platform: string;
  readonly configDigest?: string;
  readonly manifestDigest?: string;
  readonly totalBytes: number;
  readonly wastedBytes: number;
  readonly finalBytes: number;
  readonly finalFiles: number;
  readonly efficiency: number;
  readonly compressedBytes?: number;
  readonly tarBytes: number;
  readonly layers: readonly InspectReportLayer[];
  readonly wasted: readonly WastedFile[];
  readonly biggest: readonly FileRef[];
  readonly gates: readonly GateResult[];
  readonly passed: boolean;
}

/** One layer of {@link InspectReport}. */
export interface InspectReportLayer {
  readonly index: number;
  readonly diffId: string;
  readonly digest?: string;
  readonly compressedSize?: number;
  readonly size: number;
  readonly tarSize: number;
  readonly createdBy?: string;
  readonly added: { readonly count: number; readonly bytes: number };
  readonly changed: { readonly count: number; readonly bytes: number };
  readonly removed: { readonly paths: readonly string[]; readonly files: number; readonly bytes: number };
  readonly biggest: readonly FileRef[];
}

/** Inputs of {@link buildInspectReport}. */
export interface InspectReportInput {
  readonly image: string;
  readonly resolvedFrom?: 'engine' | 'registry';
  readonly config: ImageConfig;
  readonly layers: readonly LayerFacts[];
  readonly tarSizes: readonly number[];
  readonly analysis: FileAnalysis;
  readonly gates: Gates;
  readonly configDigest?: string;
  readonly manifestDigest?: string;
}

/** Builds the inspect report and evaluates the gates. */
export function buildInspectReport(input: InspectReportInput): InspectReport {
  const mapping = mapHistory(input.config);
  const byLayer = new Map<number, string>();
  for (const r of mapping.rows) if (r.layerIndex !== undefined) byLayer.set(r.layerIndex, cleanCreatedBy(r.createdBy));
  const gates = evaluateGates(input.gates, input.analysis);
  const compressedKnown = input.layers.length > 0 && input.layers.every((l) => l.compressedSize !== undefined);
  const a = input.analysis;
  return {
    ...reportHeader(input),
    totalBytes: a.totalBytes,
    wastedBytes: a.wastedBytes,
    finalBytes: a.finalBytes,
    finalFiles: a.finalFiles,
    efficiency: a.efficiency,
    ...(compressedKnown ? { compressedBytes: input.layers.reduce((s, l) => s + (l.compressedSize ?? 0), 0) } : {}),
    tarBytes: input.tarSizes.reduce((s, n) => s + n, 0),
    layers: a.layers.map((l, i) => {
      const facts = input.layers[i];
      const createdBy = byLayer.get(i);
      return {
        index: i,
        diffId: facts?.diffId ?? '',
        ...(facts?.digest === undefined ? {} : { digest: facts.digest }),
        ...(facts?.compressedSize === undefined ? {} : { compressedSize: facts.compressedSize }),
        size: l.contentSize,
        tarSize: input.tarSizes[i] ?? 0,
        ...(createdBy === undefined ? {} : { createdBy }),
        added: l.added,
        changed: l.changed,
        removed: l.removed,
        biggest: l.biggest,
      };
    }),
    wasted: a.wasted,
    biggest: a.biggest,
    gates,
    passed: gates.every((g) => g.passed),
  };
}

// Public surface of src/layers; re-exported by src/index.ts.
export { readTar, normalizeTarPath, type TarEntry, type TarEntryType, type ReadTarOptions } from './tar.js';
export { decompressed, sniffCompression } from './decompress.js';
export {
  scanLayer,
  WHITEOUT_PREFIX,
  OPAQUE_WHITEOUT,
  type LayerListing,
  type ListedEntry,
  type EntryKind,
  type ScanLayerOptions,
} from './listing.js';
export { analyzeLayers, type FileAnalysis, type LayerChanges, type WastedFile, type FileRef, type AnalyzeOptions } from './analysis.js';
export { mapHistory, cleanCreatedBy, type MappedHistory, type HistoryMapping } from './history.js';
export {
  buildHistoryReport,
  buildInspectReport,
  evaluateGates,
  relativeTime,
  type HistoryReport,
  type HistoryReportRow,
  type HistoryReportInput,
  type InspectReport,
  type InspectReportLayer,
  type InspectReportInput,
  type LayerFacts,
  type SizeOrigin,
  type LayerMapping,
  type GateResult,
  type Gates,
} from './report.js';
export { factsOf, scanLayers, type ScanLayersOptions } from './gather.js';
export { humanSize, parseSize, parseRatio } from './units.js';
export { parseSourceSpec, type SourceSpec } from './source-spec.js';
export { DirectoryStore, TarFileStore, type FileStore } from './store.js';
export { openOciLayout, openLayout, blobPath, REF_NAME_ANNOTATION, type OpenOciOptions } from './oci-layout.js';
export { openDockerArchive, parseSaveManifest, type DockerSaveManifestEntry, type OpenArchiveOptions } from './docker-archive.js';
export { scanSaveStream, type ScannedSave } from './save-stream.js';

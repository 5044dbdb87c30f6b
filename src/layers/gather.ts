/**
 * Reads what reports need from any {@link Image}: layer facts, and listings obtained by
 * streaming each layer once (a few at a time: decompression runs in libuv's thread pool, so
 * layers of a registry image download and inflate in parallel while memory stays bounded by
 * listings, never content).
 */
import type { Image, Layer } from '../image/image.js';
import { scanLayer, type LayerListing } from './listing.js';
import type { LayerFacts } from './report.js';

/** Facts of each layer as the source describes it (no content read). */
export function factsOf(layers: readonly Layer[], sizes?: readonly (number | undefined)[]): LayerFacts[] {
  return layers.map((l, i) => {
    const size = sizes?.[i];
    // A blob stored uncompressed has no separate compressed size worth showing.
    const compressed = l.digest !== undefined && l.digest !== l.diffId ? l.size : undefined;
    return {
      diffId: l.diffId,
      ...(l.digest === undefined ? {} : { digest: l.digest }),
      ...(compressed === undefined ? {} : { compressedSize: compressed }),
      mediaType: l.mediaType,
      ...(size === undefined ? {} : { size }),
    };
  });
}

/** Options for {@link scanLayers}. */
export interface ScanLayersOptions {
  readonly signal?: AbortSignal;
  /** Layers read at once; default 3. */
  readonly concurrency?: number;
  /** Called as each layer finishes (progress). */
  readonly onLayer?: (index: number, listing: LayerListing) => void;
  /** false: keep only sizes and whiteouts, not every entry (history needs sizes only). */
  readonly entries?: boolean;
}

/** Streams every layer once and returns their listings, base first. */
export async function scanLayers(image: Image, layers: readonly Layer[], options: ScanLayersOptions = {}): Promise<LayerListing[]> {
  const out: LayerListing[] = new Array<LayerListing>(layers.length);
  let next = 0;
  // One failure stops the other workers' streams too.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= layers.length) return;
      const layer = layers[i] as Layer;
      const stream = await layer.uncompressed(signal);
      const listing = await scanLayer(stream, {
        what: `layer ${i} (${layer.digest ?? layer.diffId}) of ${image.source}`,
        signal,
        ...(options.entries === false ? { entries: false } : {}),
      });
      out[i] = listing;
      options.onLayer?.(i, listing);
    }
  };
  const n = Math.max(1, Math.min(options.concurrency ?? 3, layers.length));
  try {
    await Promise.all(
      Array.from({ length: n }, () =>
        worker().catch((err: unknown) => {
          stop.abort(err);
          throw err;
        }),
      ),
    );
  } finally {
    stop.abort();
  }
  return out;
}

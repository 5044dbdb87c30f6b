/**
 * Maps an image config's `history` to its layers by the `empty_layer` rule (image-spec
 * config.md: each entry without `empty_layer: true` takes the next `rootfs.diff_ids` entry)
 * and cleans the instruction text for display. A config whose counts disagree is reported as
 * malformed with the rows that could still be mapped, instead of failing the whole report.
 */
import { ImgtoolError } from '../image/errors.js';
import type { HistoryEntry, ImageConfig } from '../image/manifest.js';

/** One history row, oldest first, with the layer it created (if any). */
export interface MappedHistory {
  /** Position in the config's history (0 = oldest); -1 for a layer with no history entry. */
  readonly historyIndex: number;
  readonly created?: string;
  readonly author?: string;
  readonly comment?: string;
  /** The instruction as recorded. */
  readonly createdBy: string;
  /** True when the entry says it created no layer. */
  readonly emptyLayer: boolean;
  /** Index into the image's layers (0 = base) when the entry created one. */
  readonly layerIndex?: number;
  /** diff_id of that layer. */
  readonly diffId?: string;
}

/** The result of {@link mapHistory}. */
export interface HistoryMapping {
  readonly rows: readonly MappedHistory[];
  /** Set when history and layers disagree; the rows are then a best effort. */
  readonly malformed?: ImgtoolError;
}

/**
 * Shell wrapper prefixes the classic builder records: `/bin/sh -c #(nop) ` marks a metadata
 * instruction (ENV, CMD, COPY…), `/bin/sh -c ` a RUN.
 */
const NOP_PREFIX = /^\/bin\/sh -c #\(nop\)\s*/;

/** The instruction text without the `/bin/sh -c #(nop) ` wrapper, whitespace collapsed at the ends. */
export function cleanCreatedBy(createdBy: string | undefined): string {
  if (!createdBy) return '';
  return createdBy.replace(NOP_PREFIX, '').trim();
}

/** Maps history entries to layers; never throws for disagreeing counts (see `malformed`). */
export function mapHistory(config: ImageConfig, what = 'image config'): HistoryMapping {
  const diffIds = config.rootfs.diff_ids;
  const history: readonly HistoryEntry[] = config.history ?? [];
  const rows: MappedHistory[] = [];
  if (history.length === 0) {
    // History is optional: one synthetic row per layer.
    diffIds.forEach((diffId, layerIndex) => rows.push({ historyIndex: -1, createdBy: '', emptyLayer: false, layerIndex, diffId }));
    return { rows };
  }
  let next = 0;
  history.forEach((h, historyIndex) => {
    const base = {
      historyIndex,
      createdBy: typeof h.created_by === 'string' ? h.created_by : '',
      emptyLayer: h.empty_layer === true,
      ...(typeof h.created === 'string' ? { created: h.created } : {}),
      ...(typeof h.author === 'string' && h.author !== '' ? { author: h.author } : {}),
      ...(typeof h.comment === 'string' && h.comment !== '' ? { comment: h.comment } : {}),
    };
    if (h.empty_layer === true || next >= diffIds.length) {
      rows.push(base);
    } else {
      rows.push({ ...base, layerIndex: next, diffId: diffIds[next] as string });
    }
    if (h.empty_layer !== true) next++;
  });
  const nonEmpty = next;
  for (let i = nonEmpty; i < diffIds.length; i++) {
    rows.push({ historyIndex: -1, createdBy: '', emptyLayer: false, layerIndex: i, diffId: diffIds[i] as string });
  }
  if (nonEmpty !== diffIds.length) {
    const malformed = new ImgtoolError(
      'CONFIG_INVALID',
      `${what} is malformed: its history has ${nonEmpty} entries that create a layer but rootfs lists ${diffIds.length} layers`,
      {
        details: { historyLayers: nonEmpty, layers: diffIds.length },
        hint: 'the image was assembled by a tool that wrote an inconsistent config; rows are shown as far as they can be matched',
      },
    );
    return { rows, malformed };
  }
  return { rows };
}

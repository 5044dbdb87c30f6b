/**
 * Per-layer progress of an engine push or pull, folded from the JSON message stream
 * (`{"status":"Pushing","id":"<layer>","progressDetail":{"current","total"}}`). Pure state:
 * the CLI decides how to show it (a spinner in a terminal, plain lines in CI).
 */
import type { JsonMessage } from '../../engine/types.js';

/** One layer (or other item with an `id`) as last reported. */
export interface LayerState {
  readonly id: string;
  readonly status: string;
  readonly current?: number;
  readonly total?: number;
  /** True once the status says the layer is finished (pushed, exists, mounted, pulled). */
  readonly done: boolean;
}

/** What one stream message meant. */
export type LayerProgressEvent =
  /** A layer's status or byte count moved; `statusChanged` is false for byte-count-only updates. */
  | { readonly kind: 'layer'; readonly layer: LayerState; readonly statusChanged: boolean }
  /** A message about the whole operation ("The push refers to repository [...]", "Digest: ...", "Status: ..."). */
  | { readonly kind: 'status'; readonly message: string };

/** Aggregate figures for a one-line summary. */
export interface ProgressSummary {
  readonly layers: number;
  readonly done: number;
  /** Bytes transferred so far over layers that report a total. */
  readonly current: number;
  /** Sum of the totals reported so far. */
  readonly total: number;
}

const DONE_STATUS = /^(Pushed|Layer already exists|Mounted from .*|Pull complete|Already exists)$/;

/** Folds stream messages into per-layer state, in first-seen order. */
export class LayerProgress {
  private readonly byId = new Map<string, LayerState>();

  /** Applies `msg`; returns what changed, or undefined for messages with nothing to show. */
  update(msg: JsonMessage): LayerProgressEvent | undefined {
    const status = typeof msg.status === 'string' ? msg.status : undefined;
    if (status === undefined) return undefined;
    const id = typeof msg.id === 'string' && msg.id !== '' ? msg.id : undefined;
    // Lines about the whole operation carry the tag as their id ("1: Pulling from team/app",
    // "1: digest: sha256:... size: N"); they are not layers.
    if (id === undefined || /: digest: /.test(status) || status.startsWith('Pulling from ')) {
      return { kind: 'status', message: id === undefined || status.startsWith(`${id}: `) ? status : `${id}: ${status}` };
    }
    const prev = this.byId.get(id);
    const detail = msg.progressDetail;
    const current = typeof detail?.current === 'number' ? detail.current : undefined;
    const total = typeof detail?.total === 'number' && detail.total > 0 ? detail.total : undefined;
    const done = DONE_STATUS.test(status);
    const next: LayerState = {
      id,
      status,
      ...(current !== undefined ? { current } : done && prev?.total !== undefined ? { current: prev.total } : {}),
      ...(total !== undefined ? { total } : prev?.total !== undefined ? { total: prev.total } : {}),
      done,
    };
    this.byId.set(id, next);
    return { kind: 'layer', layer: next, statusChanged: prev?.status !== status };
  }

  /** Every layer seen so far, in order. */
  layers(): LayerState[] {
    return [...this.byId.values()];
  }

  /** Counts and bytes over all layers. */
  summary(): ProgressSummary {
    let done = 0;
    let current = 0;
    let total = 0;
    for (const l of this.byId.values()) {
      if (l.done) done++;
      if (l.total !== undefined) {
        total += l.total;
        current += Math.min(l.current ?? 0, l.total);
      }
    }
    return { layers: this.byId.size, done, current, total };
  }
}

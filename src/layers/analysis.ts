/**
 * File-level analysis of an image: stacks layer listings bottom-up the way an overlay
 * filesystem does (whiteouts and opaque directories hide lower content, a later entry replaces
 * an earlier one) and records, per layer, what was added, changed and removed, and image-wide
 * which shipped bytes can never be seen.
 *
 * Definitions (stable; the `inspect --json` schema refers to them):
 * - a file's *size* is its content size (regular file bytes, symlink target length; see
 *   listing.ts), directories count 0;
 * - *total bytes* = the sum over all layers of every entry's size (what the layers ship);
 * - *wasted bytes* = the sum of sizes of entries that a later layer overwrites (same path, or a
 *   parent replaced) or deletes (whiteout, opaque directory): shipped but never visible;
 * - *efficiency* = 1 − wasted/total (1 when total is 0).
 * dive computes its score as Σ_path min(size) / Σ_path Σ(size over layers) over leaf paths; for
 * overwrites by a same-size or smaller file and for deleted files that equals 1 − wasted/total.
 * It differs in two cases where dive undercounts: a deleted directory (dive attributes the
 * subtree to the whiteout path once, so it is never "wasted") and an overwrite by a larger file
 * (dive counts the smaller, still-visible copy as the waste). imgtool counts what is hidden.
 */
import type { EntryKind, LayerListing } from './listing.js';

/** A file version that is shipped but hidden in the final filesystem. */
export interface WastedFile {
  readonly path: string;
  readonly size: number;
  /** Index (0 = base) of the layer that ships the hidden version. */
  readonly layer: number;
  /** Index of the layer that hides it. */
  readonly hiddenBy: number;
  /** How it was hidden. */
  readonly how: 'overwritten' | 'deleted';
}

/** A file in a layer or in the final filesystem. */
export interface FileRef {
  readonly path: string;
  readonly size: number;
  readonly kind: EntryKind;
}

/** What one layer does to the filesystem. */
export interface LayerChanges {
  readonly index: number;
  /** Content size of the layer (as `docker history` reports it). */
  readonly contentSize: number;
  /** Non-directory entries whose path did not exist below. */
  readonly added: { readonly count: number; readonly bytes: number };
  /** Non-directory entries that replace something below. */
  readonly changed: { readonly count: number; readonly bytes: number };
  /** Whiteout and opaque-directory targets, and how many lower non-directory files they hid. */
  readonly removed: { readonly paths: readonly string[]; readonly files: number; readonly bytes: number };
  /** The largest entries of this layer, biggest first. */
  readonly biggest: readonly FileRef[];
}

/** The result of {@link analyzeLayers}. */
export interface FileAnalysis {
  readonly layers: readonly LayerChanges[];
  readonly totalBytes: number;
  readonly wastedBytes: number;
  /** 1 − wasted/total. */
  readonly efficiency: number;
  /** Bytes visible in the final filesystem (total − wasted). */
  readonly finalBytes: number;
  /** Non-directory entries visible in the final filesystem. */
  readonly finalFiles: number;
  /** Every hidden file version, largest first (ties by path, then layer). */
  readonly wasted: readonly WastedFile[];
  /** Largest files of the final filesystem, biggest first. */
  readonly biggest: readonly FileRef[];
}

/** Options for {@link analyzeLayers}. */
export interface AnalyzeOptions {
  /** How many biggest files to keep per layer and for the image; default 10. */
  readonly top?: number;
}

interface Node {
  kind: EntryKind;
  size: number;
  layer: number;
  children?: Map<string, Node>;
}

/** Keeps the `n` largest items seen, in a small sorted array (n is tiny). */
class TopN {
  readonly items: FileRef[] = [];
  constructor(private readonly n: number) {}
  offer(item: FileRef): void {
    if (this.n <= 0) return;
    const items = this.items;
    if (items.length === this.n && (items[items.length - 1] as FileRef).size >= item.size) return;
    let i = items.length;
    while (i > 0 && (items[i - 1] as FileRef).size < item.size) i--;
    items.splice(i, 0, item);
    if (items.length > this.n) items.pop();
  }
}

function newDir(layer: number): Node {
  return { kind: 'dir', size: 0, layer, children: new Map() };
}

/** Visits every non-directory node under (and including) `node`. */
function eachFile(node: Node, path: string, visit: (path: string, n: Node) => void): void {
  if (node.kind !== 'dir') {
    visit(path, node);
    return;
  }
  for (const [name, child] of node.children ?? []) eachFile(child, path === '' ? name : `${path}/${name}`, visit);
}

/**
 * Stacks `listings` (base first) and computes per-layer changes and wasted space. Memory is
 * one small node per path of the merged tree plus one record per wasted file version.
 */
export function analyzeLayers(listings: readonly LayerListing[], options: AnalyzeOptions = {}): FileAnalysis {
  const top = options.top ?? 10;
  const root = newDir(-1);
  const wasted: WastedFile[] = [];
  let totalBytes = 0;
  let wastedBytes = 0;

  const hide = (node: Node, path: string, by: number, how: WastedFile['how'], tally?: { files: number; bytes: number }): void => {
    eachFile(node, path, (p, n) => {
      if (tally) {
        tally.files++;
        tally.bytes += n.size;
      }
      if (n.size > 0) {
        wasted.push({ path: p, size: n.size, layer: n.layer, hiddenBy: by, how });
        wastedBytes += n.size;
      }
    });
  };

  /** The node at `path`, or undefined. */
  const lookup = (path: string): { parent: Node; name: string; node: Node | undefined } | undefined => {
    if (path === '') return undefined;
    const parts = path.split('/');
    let dir = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = dir.children?.get(parts[i] as string);
      if (!next || next.kind !== 'dir') return undefined;
      dir = next;
    }
    const name = parts[parts.length - 1] as string;
    return { parent: dir, name, node: dir.children?.get(name) };
  };

  /** The directory node at `path`, creating missing parents; a non-directory in the way is replaced. */
  const ensureDir = (path: string, layer: number): Node => {
    if (path === '') return root;
    let dir = root;
    let sofar = '';
    for (const part of path.split('/')) {
      sofar = sofar === '' ? part : `${sofar}/${part}`;
      const children = dir.children as Map<string, Node>;
      let next = children.get(part);
      if (next === undefined) {
        next = newDir(layer);
        children.set(part, next);
      } else if (next.kind !== 'dir') {
        // The engine replaces a file by a directory when a later layer puts content under it.
        hide(next, sofar, layer, 'overwritten');
        next = newDir(layer);
        children.set(part, next);
      }
      dir = next;
    }
    return dir;
  };

  const layers: LayerChanges[] = listings.map((listing, index) => {
    const removedTally = { files: 0, bytes: 0 };
    const removedPaths: string[] = [];
    // Whiteouts and opaque directories apply to the layers below only, so they go first.
    for (const dirPath of listing.opaqueDirs) {
      const dir = dirPath === '' ? root : lookup(dirPath)?.node;
      if (dir?.kind === 'dir' && dir.children) {
        for (const [name, child] of dir.children) hide(child, dirPath === '' ? name : `${dirPath}/${name}`, index, 'deleted', removedTally);
        dir.children.clear();
      }
      removedPaths.push(dirPath === '' ? '/' : `${dirPath}/`);
    }
    for (const path of listing.whiteouts) {
      const found = lookup(path);
      if (found?.node) {
        hide(found.node, path, index, 'deleted', removedTally);
        found.parent.children?.delete(found.name);
      }
      removedPaths.push(path);
    }
    let addedCount = 0;
    let addedBytes = 0;
    let changedCount = 0;
    let changedBytes = 0;
    const biggest = new TopN(top);
    for (const e of listing.entries) {
      totalBytes += e.size;
      const slash = e.path.lastIndexOf('/');
      const parent = ensureDir(slash < 0 ? '' : e.path.slice(0, slash), index);
      const name = slash < 0 ? e.path : e.path.slice(slash + 1);
      const children = parent.children as Map<string, Node>;
      const existing = children.get(name);
      if (e.kind === 'dir') {
        if (existing === undefined) children.set(name, newDir(index));
        else if (existing.kind !== 'dir') {
          hide(existing, e.path, index, 'overwritten');
          children.set(name, newDir(index));
        }
        continue;
      }
      if (existing !== undefined) {
        hide(existing, e.path, index, 'overwritten');
        changedCount++;
        changedBytes += e.size;
      } else {
        addedCount++;
        addedBytes += e.size;
      }
      children.set(name, { kind: e.kind, size: e.size, layer: index });
      biggest.offer({ path: e.path, size: e.size, kind: e.kind });
    }
    return {
      index,
      contentSize: listing.contentSize,
      added: { count: addedCount, bytes: addedBytes },
      changed: { count: changedCount, bytes: changedBytes },
      removed: { paths: removedPaths, files: removedTally.files, bytes: removedTally.bytes },
      biggest: biggest.items,
    };
  });

  const finalTop = new TopN(top);
  let finalFiles = 0;
  eachFile(root, '', (path, n) => {
    finalFiles++;
    finalTop.offer({ path, size: n.size, kind: n.kind });
  });
  wasted.sort((a, b) => b.size - a.size || (a.path < b.path ? -1 : a.path > b.path ? 1 : a.layer - b.layer));
  return {
    layers,
    totalBytes,
    wastedBytes,
    efficiency: totalBytes === 0 ? 1 : 1 - wastedBytes / totalBytes,
    finalBytes: totalBytes - wastedBytes,
    finalFiles,
    wasted,
    biggest: finalTop.items,
  };
}

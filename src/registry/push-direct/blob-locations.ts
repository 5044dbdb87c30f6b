/**
 * Hints of where blobs already live (digest → repositories per registry), so a push can ask
 * the registry to mount a blob from a repository it has seen it in instead of uploading it
 * again (docker keeps the same kind of hint in its "v2 metadata" store). Optionally persisted
 * as a small JSON file; a hint can be wrong or stale, which only costs one refused mount.
 * Also remembers the compressed digest of an uncompressed layer (diff id), so an unchanged
 * layer need not be compressed again just to learn that the registry already has it.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** The compressed form of a layer imgtool made before. */
export interface CompressedInfo {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

interface FileShape {
  readonly version: 1;
  readonly locations: Record<string, string[]>;
  readonly compressed?: Record<string, CompressedInfo>;
}

const MAX_REPOS_PER_BLOB = 8;
/** Entries kept per map (oldest dropped first): bounds the file to about a megabyte. */
export const MAX_BLOB_LOCATION_ENTRIES = 5_000;
const MAX_ENTRIES = MAX_BLOB_LOCATION_ENTRIES;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * The default cache file: `$XDG_CACHE_HOME/imgtool/blob-locations.json`, else
 * `~/.cache/imgtool/blob-locations.json`; undefined when neither can be placed.
 */
export function defaultBlobLocationsFile(env: Readonly<Record<string, string | undefined>>, home?: string): string | undefined {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'imgtool', 'blob-locations.json');
  const h = env['HOME'] ?? home;
  return h === undefined || h === '' ? undefined : join(h, '.cache', 'imgtool', 'blob-locations.json');
}

/** Where blobs were seen: `registry/repository` names per digest. */
export class BlobLocations {
  private readonly locations = new Map<string, string[]>();
  private readonly compressedByDiffId = new Map<string, CompressedInfo>();
  private dirty = false;

  /** Records that `registry/repository` has `digest`. Newest first; a few per blob. */
  add(digest: string, registry: string, repository: string): void {
    const name = `${registry}/${repository}`;
    const list = this.locations.get(digest) ?? [];
    if (list[0] === name) return;
    const next = [name, ...list.filter((n) => n !== name)].slice(0, MAX_REPOS_PER_BLOB);
    this.locations.delete(digest);
    this.locations.set(digest, next);
    this.dirty = true;
    if (this.locations.size > MAX_ENTRIES) {
      const oldest = this.locations.keys().next().value;
      if (oldest !== undefined) this.locations.delete(oldest);
    }
  }

  /** Repositories on `registry` (other than `except`) said to have `digest`, newest first. */
  candidates(digest: string, registry: string, except?: string): string[] {
    const prefix = `${registry}/`;
    return (this.locations.get(digest) ?? [])
      .filter((n) => n.startsWith(prefix))
      .map((n) => n.slice(prefix.length))
      .filter((r) => r !== except);
  }

  /** Remembers the compressed digest/size imgtool produced for a diff id. */
  setCompressed(diffId: string, info: CompressedInfo): void {
    const old = this.compressedByDiffId.get(diffId);
    if (old?.digest === info.digest && old.mediaType === info.mediaType && old.size === info.size) return;
    // Re-inserted so the newest entries are last and survive the trimming.
    this.compressedByDiffId.delete(diffId);
    this.compressedByDiffId.set(diffId, { digest: info.digest, size: info.size, mediaType: info.mediaType });
    this.dirty = true;
    if (this.compressedByDiffId.size > MAX_ENTRIES) {
      const oldest = this.compressedByDiffId.keys().next().value;
      if (oldest !== undefined) this.compressedByDiffId.delete(oldest);
    }
  }

  /** True when any diff id has a recorded compressed form. */
  hasCompressed(): boolean {
    return this.compressedByDiffId.size > 0;
  }

  /** The compressed form of `diffId` made before, if any. */
  compressed(diffId: string): CompressedInfo | undefined {
    return this.compressedByDiffId.get(diffId);
  }

  /**
   * Loads hints from `file`. A missing file gives an empty store; a damaged one too (hints are
   * optional), with a note to `log` saying it was ignored. Entries that are not digests are dropped.
   */
  static async load(file: string, opts: { signal?: AbortSignal; log?: (line: string) => void } = {}): Promise<BlobLocations> {
    const store = new BlobLocations();
    let text: string;
    try {
      text = await readFile(file, { encoding: 'utf8', ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') opts.log?.(`blob location cache ${file} not readable (${(err as Error).message}); starting without it`);
      return store;
    }
    try {
      const data = JSON.parse(text) as Partial<FileShape> | null;
      if (data === null || typeof data !== 'object' || data.version !== 1) throw new TypeError('not a version 1 cache');
      if (typeof data.locations === 'object' && data.locations !== null) {
        for (const [d, names] of Object.entries(data.locations).slice(-MAX_ENTRIES)) {
          if (DIGEST.test(d) && Array.isArray(names)) store.locations.set(d, names.filter((n): n is string => typeof n === 'string').slice(0, MAX_REPOS_PER_BLOB));
        }
      }
      if (typeof data.compressed === 'object' && data.compressed !== null) {
        for (const [d, info] of Object.entries(data.compressed).slice(-MAX_ENTRIES)) {
          if (DIGEST.test(d) && typeof info?.digest === 'string' && DIGEST.test(info.digest) && Number.isSafeInteger(info.size) && info.size >= 0 && typeof info.mediaType === 'string') {
            store.compressedByDiffId.set(d, { digest: info.digest, size: info.size, mediaType: info.mediaType });
          }
        }
      }
    } catch (err) {
      opts.log?.(`blob location cache ${file} is damaged (${(err as Error).message}); ignoring it, it will be rewritten`);
      store.locations.clear();
      store.compressedByDiffId.clear();
      // Rewrite it on the next save even if nothing new is learnt.
      store.dirty = true;
    }
    return store;
  }

  /** Writes the hints atomically (temp file + rename) when something changed. */
  async save(file: string): Promise<void> {
    if (!this.dirty) return;
    const data: FileShape = {
      version: 1,
      locations: Object.fromEntries(this.locations),
      compressed: Object.fromEntries([...this.compressedByDiffId].slice(-MAX_ENTRIES)),
    };
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    this.dirty = false;
  }
}

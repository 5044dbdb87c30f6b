/**
 * Hints of where blobs already live (digest → repositories per registry), so a push can ask
 * the registry to mount a blob from a repository it has seen it in instead of uploading it
 * again (docker keeps the same kind of hint in its "v2 metadata" store). Optionally persisted
 * as a small JSON file; a hint can be wrong or stale, which only costs one refused mount.
 * Also remembers the compressed digest of an uncompressed layer (diff id), so an unchanged
 * layer need not be compressed again just to learn that the registry already has it.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
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
const MAX_ENTRIES = 20_000;

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
    if (old?.digest === info.digest && old.mediaType === info.mediaType) return;
    this.compressedByDiffId.set(diffId, info);
    this.dirty = true;
  }

  /** The compressed form of `diffId` made before, if any. */
  compressed(diffId: string): CompressedInfo | undefined {
    return this.compressedByDiffId.get(diffId);
  }

  /** Loads hints from `file`; a missing or damaged file gives an empty store (hints are optional). */
  static async load(file: string, signal?: AbortSignal): Promise<BlobLocations> {
    const store = new BlobLocations();
    try {
      const data = JSON.parse(await readFile(file, { encoding: 'utf8', ...(signal === undefined ? {} : { signal }) })) as Partial<FileShape>;
      if (data.version === 1 && typeof data.locations === 'object' && data.locations !== null) {
        for (const [d, names] of Object.entries(data.locations)) {
          if (Array.isArray(names)) store.locations.set(d, names.filter((n) => typeof n === 'string').slice(0, MAX_REPOS_PER_BLOB));
        }
      }
      if (typeof data.compressed === 'object' && data.compressed !== null) {
        for (const [d, info] of Object.entries(data.compressed)) {
          if (typeof info?.digest === 'string' && typeof info.size === 'number' && typeof info.mediaType === 'string') store.compressedByDiffId.set(d, info);
        }
      }
    } catch {
      // No hints yet, or an unreadable file: start empty.
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
    await writeFile(tmp, JSON.stringify(data), { mode: 0o600 });
    await rename(tmp, file);
    this.dirty = false;
  }
}

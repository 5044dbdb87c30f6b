/**
 * `imgtool tag SOURCE TARGET` through the engine (`POST /images/{name}/tag`). The target is
 * validated and normalised like the docker CLI before the engine sees it, so a bad name is a
 * usage error with a precise message rather than the daemon's "invalid reference format".
 */
import type { EngineClient } from '../../engine/client.js';
import { ImgtoolError, isImgtoolError } from '../../image/errors.js';
import { parseReference, type Reference } from '../../image/reference.js';

/** An image ID (`sha256:<hex>` or a hex prefix of 12 to 64 digits) rather than a name. */
export function isImageId(value: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(value) || /^[0-9a-f]{12,64}$/.test(value);
}

/** Result of {@link tagThroughEngine}. */
export interface EngineTagResult {
  readonly source: string;
  /** The new reference, fully qualified. */
  readonly target: string;
}

/** Tags the local image `source` (ID or reference) as `target`. */
export async function tagThroughEngine(engine: EngineClient, source: string, target: string, signal?: AbortSignal): Promise<EngineTagResult> {
  const sourceName = isImageId(source) ? source : parseReference(source).familiar;
  const to: Reference = parseReference(target);
  if (to.digest !== undefined) {
    throw new ImgtoolError('REFERENCE_INVALID', `cannot tag as "${target}": a tag target cannot have a digest`, { details: { reference: target } });
  }
  try {
    await engine.imageTag(sourceName, to.familiarName, to.tag ?? 'latest', signal);
  } catch (err) {
    if (isImgtoolError(err, 'ENGINE_NOT_FOUND')) {
      throw new ImgtoolError('IMAGE_NOT_FOUND', `no local image "${source}" to tag`, {
        cause: err,
        details: { reference: source },
        hint: `build or pull it first, or tag in the registry without pulling: imgtool tag --remote ${source} <new-tag>`,
      });
    }
    throw err;
  }
  return { source, target: to.toString() };
}

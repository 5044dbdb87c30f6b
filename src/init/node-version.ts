/**
 * Picks the Node base image tag from what the project asks for (.nvmrc, .node-version,
 * engines.node). Tags are pinned to a release line's minor version (e.g. `20.18`), the
 * granularity the official images publish and that teams bump on purpose.
 */
import { compareVersions, minVersion, parseRange, parseVersion, satisfies, type Version } from './semver-range.js';

/** Release lines imgtool knows a pinned tag for, newest first. Each tag exists on Docker Hub. */
export const NODE_LINES: readonly { readonly major: number; readonly codename: string; readonly version: Version }[] = [
  { major: 24, codename: 'krypton', version: [24, 11, 0] },
  { major: 22, codename: 'jod', version: [22, 11, 0] },
  { major: 20, codename: 'iron', version: [20, 18, 0] },
  { major: 18, codename: 'hydrogen', version: [18, 20, 0] },
];

/** The line used when the project says nothing (or anything that 20.18 satisfies). */
export const DEFAULT_NODE_VERSION: Version = [20, 18, 0];

/** The outcome: the tag part (e.g. "20.18") and a warning when the request could not be honoured. */
export interface NodeTagChoice {
  readonly tag: string;
  readonly warning?: string;
}

const minorTag = (v: Version): string => `${v[0]}.${v[1]}`;

/** Chooses the tag for a version-file value such as "20", "v20.18.0", "lts/iron" or "node". */
export function tagForVersionFile(value: string): NodeTagChoice {
  const text = value.trim().toLowerCase();
  if (text === 'node' || text === 'stable' || text === 'lts/*' || text === 'latest') {
    return { tag: minorTag(NODE_LINES[0]?.version ?? DEFAULT_NODE_VERSION) };
  }
  if (text.startsWith('lts/')) {
    const line = NODE_LINES.find((l) => l.codename === text.slice(4));
    if (line) return { tag: minorTag(line.version) };
    return { tag: minorTag(DEFAULT_NODE_VERSION), warning: `unknown Node LTS name "${value.trim()}": using ${minorTag(DEFAULT_NODE_VERSION)}` };
  }
  // A full version is an exact pin: keep it exact.
  if (/^v?\d+\.\d+\.\d+$/.test(text)) return { tag: text.replace(/^v/, '') };
  return tagForRange(text);
}

/** Chooses the tag for an `engines.node` range: the default line if it fits, else the newest known line that does. */
export function tagForRange(text: string): NodeTagChoice {
  const range = parseRange(text);
  if (!range) {
    return { tag: minorTag(DEFAULT_NODE_VERSION), warning: `cannot read Node version "${text}": using ${minorTag(DEFAULT_NODE_VERSION)}` };
  }
  if (satisfies(DEFAULT_NODE_VERSION, range)) return { tag: minorTag(DEFAULT_NODE_VERSION) };
  const known = NODE_LINES.find((l) => satisfies(l.version, range));
  if (known) return { tag: minorTag(known.version) };
  const low = minVersion(range);
  if (low) {
    const exact = parseVersion(text);
    // "20.17.0" written as an engines value means exactly that release.
    if (exact && compareVersions(exact, low) === 0 && /^\s*=?v?\d+\.\d+\.\d+\s*$/.test(text)) return { tag: `${low[0]}.${low[1]}.${low[2]}` };
    return { tag: minorTag(low), warning: `Node "${text}" matches none of the release lines imgtool pins (${NODE_LINES.map((l) => l.major).join(', ')}): using ${minorTag(low)}; check that the tag exists` };
  }
  return { tag: minorTag(DEFAULT_NODE_VERSION), warning: `no Node version satisfies "${text}": using ${minorTag(DEFAULT_NODE_VERSION)}` };
}

/** True when the tag (e.g. "20.18" or "20.18.0") is allowed by `range` (unparseable ranges allow anything). */
export function tagSatisfies(tag: string, rangeText: string): boolean {
  const range = parseRange(rangeText);
  const v = parseVersion(tag);
  return !range || !v || satisfies(v, range);
}

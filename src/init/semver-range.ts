/**
 * Just enough of npm's semver range grammar to read `engines.node` and .nvmrc values:
 * `||` alternatives, space-separated comparators, `^`, `~`, `>=`, `<=`, `>`, `<`, `=`,
 * x-ranges (`20`, `20.x`, `*`) and hyphen ranges (`18 - 20`). Prerelease tags are ignored:
 * Node release lines don't ship them under stable tags. Written here rather than pulling in
 * `semver`, which imgtool does not depend on directly.
 */

/** A version as [major, minor, patch]. */
export type Version = readonly [number, number, number];

type Op = '>=' | '<=' | '>' | '<' | '=';
interface Comparator {
  readonly op: Op;
  readonly v: Version;
}

/** A partial version: missing (or x/*) parts are undefined. */
type Partial = readonly [number | undefined, number | undefined, number | undefined];

const PARTIAL = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:[-+][0-9A-Za-z.-]*)?$/;

function parsePartial(text: string): Partial | undefined {
  if (text === '' || text === '*' || text === 'x' || text === 'X') return [undefined, undefined, undefined];
  const m = PARTIAL.exec(text);
  if (!m) return undefined;
  const num = (s: string | undefined): number | undefined => (s === undefined || /^[xX*]$/.test(s) ? undefined : Number(s));
  const major = num(m[1]);
  const minor = major === undefined ? undefined : num(m[2]);
  const patch = minor === undefined ? undefined : num(m[3]);
  return [major, minor, patch];
}

/** Parses "20.18.0" / "v20" into a full version (missing parts are 0), undefined if not a version. */
export function parseVersion(text: string): Version | undefined {
  const p = parsePartial(text.trim());
  if (!p || p[0] === undefined) return undefined;
  return [p[0], p[1] ?? 0, p[2] ?? 0];
}

/** Compares two versions: negative, zero or positive. */
export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

const ANY: Comparator[] = [{ op: '>=', v: [0, 0, 0] }];

/** The exclusive upper bound of an x-range: 1.2 -> 1.3.0, 1 -> 2.0.0. */
function nextAfter(p: Partial): Version {
  if (p[1] === undefined) return [(p[0] ?? 0) + 1, 0, 0];
  return [p[0] ?? 0, p[1] + 1, 0];
}

function floor(p: Partial): Version {
  return [p[0] ?? 0, p[1] ?? 0, p[2] ?? 0];
}

function isFull(p: Partial): boolean {
  return p[2] !== undefined;
}

/** Desugars one comparator token ("^20.1", ">=18", "20.x") into plain comparators. */
function desugar(op: string, p: Partial): Comparator[] | undefined {
  if (p[0] === undefined) return op === '<' || op === '>' ? [{ op: '<', v: [0, 0, 0] }] : ANY;
  switch (op) {
    case '':
    case '=':
      return isFull(p) ? [{ op: '=', v: floor(p) }] : [{ op: '>=', v: floor(p) }, { op: '<', v: nextAfter(p) }];
    case '^': {
      const [maj, min, pat] = p;
      let upper: Version;
      if (maj > 0 || min === undefined) upper = [maj + 1, 0, 0];
      else if (min > 0 || pat === undefined) upper = [0, min + 1, 0];
      else upper = [0, 0, pat + 1];
      return [{ op: '>=', v: floor(p) }, { op: '<', v: upper }];
    }
    case '~':
      return [{ op: '>=', v: floor(p) }, { op: '<', v: p[1] === undefined ? [p[0] + 1, 0, 0] : [p[0], p[1] + 1, 0] }];
    case '>':
      return isFull(p) ? [{ op: '>', v: floor(p) }] : [{ op: '>=', v: nextAfter(p) }];
    case '>=':
      return [{ op: '>=', v: floor(p) }];
    case '<':
      return [{ op: '<', v: floor(p) }];
    case '<=':
      return isFull(p) ? [{ op: '<=', v: floor(p) }] : [{ op: '<', v: nextAfter(p) }];
    default:
      return undefined;
  }
}

/** Parses one `||` alternative into comparators, undefined when it is not valid syntax. */
function parseAlternative(text: string): Comparator[] | undefined {
  const trimmed = text.trim();
  const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(trimmed);
  if (hyphen) {
    const lo = parsePartial(hyphen[1] ?? '');
    const hi = parsePartial(hyphen[2] ?? '');
    if (!lo || !hi) return undefined;
    const upper: Comparator[] = hi[0] === undefined ? [] : isFull(hi) ? [{ op: '<=', v: floor(hi) }] : [{ op: '<', v: nextAfter(hi) }];
    return [{ op: '>=', v: floor(lo) }, ...upper];
  }
  // Operators may be separated from their version by spaces (">= 18"): glue them first.
  const tokens = trimmed.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean);
  if (tokens.length === 0) return ANY;
  const out: Comparator[] = [];
  for (const token of tokens) {
    const m = /^(>=|<=|>|<|=|\^|~>?|)(.*)$/.exec(token);
    if (!m) return undefined;
    const p = parsePartial(m[2] ?? '');
    if (!p) return undefined;
    const parts = desugar((m[1] ?? '').replace('~>', '~'), p);
    if (!parts) return undefined;
    out.push(...parts);
  }
  return out;
}

/** A parsed range: a list of alternatives, each a list of comparators that must all hold. */
export interface Range {
  readonly raw: string;
  readonly alternatives: readonly (readonly Comparator[])[];
}

/** Parses an npm semver range; undefined when the text is not one. */
export function parseRange(text: string): Range | undefined {
  const alternatives: Comparator[][] = [];
  for (const alt of text.split('||')) {
    const parsed = parseAlternative(alt);
    if (!parsed) return undefined;
    alternatives.push(parsed);
  }
  return { raw: text, alternatives };
}

function holds(c: Comparator, v: Version): boolean {
  const d = compareVersions(v, c.v);
  switch (c.op) {
    case '>=':
      return d >= 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    case '<':
      return d < 0;
    case '=':
      return d === 0;
  }
}

/** True when `version` satisfies `range`. */
export function satisfies(version: Version, range: Range): boolean {
  return range.alternatives.some((alt) => alt.every((c) => holds(c, version)));
}

/** The lowest version that satisfies `range`, undefined when none does. */
export function minVersion(range: Range): Version | undefined {
  const candidates: Version[] = [];
  for (const alt of range.alternatives) {
    let low: Version = [0, 0, 0];
    for (const c of alt) {
      const bound: Version = c.op === '>' ? [c.v[0], c.v[1], c.v[2] + 1] : c.v;
      if ((c.op === '>=' || c.op === '>' || c.op === '=') && compareVersions(bound, low) > 0) low = bound;
    }
    if (satisfies(low, range)) candidates.push(low);
  }
  return candidates.sort(compareVersions)[0];
}

/**
 * Token scopes (distribution docs, "Token Scope Documentation"):
 *   scope        := resourcetype ":" resourcename ":" action [ "," action ]*
 *   resourcetype := "repository" | "registry" (optionally with a "(class)" suffix)
 * A `scope` parameter may hold several scopes separated by spaces. Token requests send each
 * scope as its own `scope=` query parameter.
 */

/** One access request: a resource and the actions wanted on it. */
export interface Scope {
  /** "repository", "registry", "repository(plugin)", ... */
  readonly type: string;
  /** Repository name (`team/app`) or "catalog". */
  readonly name: string;
  /** Actions, sorted and unique ("pull", "push", "delete", "*"). */
  readonly actions: readonly string[];
}

/** Pull access to a repository. */
export function pullScope(repository: string): Scope {
  return { type: 'repository', name: repository, actions: ['pull'] };
}

/** Pull and push access to a repository (docker asks for both when pushing). */
export function pushScope(repository: string): Scope {
  return { type: 'repository', name: repository, actions: ['pull', 'push'] };
}

/** Renders a scope the way token services expect it. */
export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/**
 * Parses one scope string; the actions follow the last ":" and the type precedes the first,
 * so names stay intact. Returns undefined for a string without two colons.
 */
export function parseScope(text: string): Scope | undefined {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = text.slice(0, first);
  const name = text.slice(first + 1, last);
  const actions = text
    .slice(last + 1)
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (name === '') return undefined;
  return { type, name, actions: normaliseActions(actions) };
}

/** Parses a challenge's `scope` parameter: several scopes separated by spaces. */
export function parseScopeParam(value: string | undefined): Scope[] {
  if (value === undefined) return [];
  return value
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(parseScope)
    .filter((s): s is Scope => s !== undefined);
}

function normaliseActions(actions: readonly string[]): string[] {
  return [...new Set(actions)].sort();
}

/**
 * Merges scope lists: one entry per resource, with the union of actions. The result is
 * sorted so equal sets produce equal cache keys whatever order they were asked in.
 */
export function unionScopes(...lists: ReadonlyArray<readonly Scope[]>): Scope[] {
  const byResource = new Map<string, { type: string; name: string; actions: Set<string> }>();
  for (const list of lists) {
    for (const s of list) {
      const key = `${s.type}\u0000${s.name}`;
      const entry = byResource.get(key) ?? { type: s.type, name: s.name, actions: new Set<string>() };
      for (const a of s.actions) entry.actions.add(a);
      byResource.set(key, entry);
    }
  }
  return [...byResource.values()]
    .map((e) => ({ type: e.type, name: e.name, actions: normaliseActions([...e.actions]) }))
    .sort((a, b) => (a.type === b.type ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type < b.type ? -1 : 1));
}

/** A stable key for a set of scopes (the token cache key). */
export function scopeKey(scopes: readonly Scope[]): string {
  return unionScopes(scopes).map(formatScope).join(' ');
}

/** True when every action of every scope in `wanted` is already in `have`. */
export function scopesCover(have: readonly Scope[], wanted: readonly Scope[]): boolean {
  const merged = unionScopes(have);
  return wanted.every((w) => {
    const h = merged.find((m) => m.type === w.type && m.name === w.name);
    return h !== undefined && w.actions.every((a) => h.actions.includes(a) || h.actions.includes('*'));
  });
}

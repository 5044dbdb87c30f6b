/** The query string of `POST /build` (protocols.md §1.2) from imgtool's BuildParams. */
import type { BuildParams } from './types.js';

/** Booleans as the moby client sends them. */
function flag(v: boolean): string {
  return v ? '1' : '0';
}

/**
 * Builds the query: `t` and `extrahosts` repeated; `buildargs`, `labels`, `cachefrom` and
 * `outputs` as JSON; booleans "1"/"0"; unset fields are omitted so the daemon's defaults apply.
 */
export function buildQuery(params: BuildParams): URLSearchParams {
  const q = new URLSearchParams();
  for (const t of params.tags ?? []) q.append('t', t);
  if (params.dockerfile !== undefined) q.set('dockerfile', params.dockerfile);
  if (params.target !== undefined) q.set('target', params.target);
  if (params.buildArgs !== undefined) q.set('buildargs', JSON.stringify(params.buildArgs));
  if (params.labels !== undefined) q.set('labels', JSON.stringify(params.labels));
  if (params.cacheFrom !== undefined) q.set('cachefrom', JSON.stringify(params.cacheFrom));
  if (params.noCache !== undefined) q.set('nocache', flag(params.noCache));
  if (params.pull !== undefined) q.set('pull', flag(params.pull));
  if (params.quiet !== undefined) q.set('q', flag(params.quiet));
  if (params.rm !== undefined) q.set('rm', flag(params.rm));
  if (params.forceRm !== undefined) q.set('forcerm', flag(params.forceRm));
  if (params.networkMode !== undefined) q.set('networkmode', params.networkMode);
  if (params.platform !== undefined) q.set('platform', params.platform);
  if (params.outputs !== undefined) {
    q.set('outputs', JSON.stringify(params.outputs.map((o) => ({ Type: o.type, Attrs: o.attrs ?? {} }))));
  }
  if (params.version !== undefined) q.set('version', params.version);
  for (const h of params.extraHosts ?? []) q.append('extrahosts', h);
  if (params.shmSize !== undefined) q.set('shmsize', String(params.shmSize));
  if (params.buildId !== undefined) q.set('buildid', params.buildId);
  return q;
}

/** Pieces both renderers share: comment blocks, COPY lines, image names. */
import { basename, posix } from 'node:path';
import type { InitFinding } from './types.js';

/** Dockerfile comment lines listing what detection found. */
export function findingsComment(findings: readonly InitFinding[]): string {
  return findings.map((f) => `#   - ${f.what} (${f.source})`).join('\n');
}

/** Dockerfile comment lines listing warnings ('' when there are none, so the section disappears). */
export function warningsComment(warnings: readonly string[]): string {
  return warnings.map((w) => `#   ! ${w}`).join('\n');
}

/** One COPY line; JSON form when a path has a space, which the shell form cannot carry. */
function copyLine(sources: readonly string[], dest: string): string {
  if ([...sources, dest].some((s) => /\s/.test(s))) return `COPY ${JSON.stringify([...sources, dest])}`;
  return `COPY ${sources.join(' ')} ${dest}`;
}

/**
 * COPY lines that put `inputs` (context-relative; directories end with `/`) at the same
 * paths under WORKDIR. Files that share a directory share one line; each directory gets its own.
 */
export function copyLines(inputs: readonly string[]): string {
  const byDest = new Map<string, string[]>();
  const lines: string[] = [];
  for (const input of inputs) {
    if (input.endsWith('/')) continue;
    const dir = posix.dirname(input);
    const dest = dir === '.' ? './' : `${dir}/`;
    byDest.set(dest, [...(byDest.get(dest) ?? []), input]);
  }
  for (const [dest, files] of byDest) lines.push(copyLine(files, dest));
  for (const input of inputs) if (input.endsWith('/')) lines.push(copyLine([input.replace(/\/$/, '')], input));
  return lines.join('\n');
}

/** A lowercase image name from a package name or module path ("@team/api" -> "api", "example.com/x/v2" -> "x"). */
export function imageNameFrom(name: string): string {
  const last = basename(name.replace(/^@[^/]+\//, '').replace(/\/v\d+$/, ''));
  const clean = last.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
  return clean === '' ? 'app' : clean;
}

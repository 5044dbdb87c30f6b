/**
 * Image names the way skopeo spells them: `docker-archive:PATH[:REF]`, `oci:DIR[:TAG]`,
 * `oci-archive:PATH[:TAG]`, `docker-daemon:REF`, `docker://REF`; anything else is a bare
 * reference (engine first, then registry — decided by the caller, which may import both).
 */
import { ImgtoolError } from '../image/errors.js';

/** A parsed image location. */
export type SourceSpec =
  | { readonly transport: 'docker-archive'; readonly path: string; readonly ref?: string }
  | { readonly transport: 'oci'; readonly path: string; readonly ref?: string }
  | { readonly transport: 'oci-archive'; readonly path: string; readonly ref?: string }
  | { readonly transport: 'docker-daemon'; readonly ref: string }
  | { readonly transport: 'docker'; readonly ref: string }
  | { readonly transport: 'bare'; readonly ref: string };

function pathAndRef(rest: string, prefix: string): { path: string; ref?: string } {
  // skopeo splits at the first colon after the transport: paths must not contain ':'.
  const i = rest.indexOf(':');
  const path = i < 0 ? rest : rest.slice(0, i);
  const ref = i < 0 ? undefined : rest.slice(i + 1);
  if (path === '') throw new ImgtoolError('USAGE', `${prefix} needs a path, e.g. ${prefix}/tmp/image.tar`);
  return ref === undefined || ref === '' ? { path } : { path, ref };
}

/** Parses an IMAGE argument. */
export function parseSourceSpec(input: string): SourceSpec {
  if (input.startsWith('docker-archive:')) return { transport: 'docker-archive', ...pathAndRef(input.slice(15), 'docker-archive:') };
  if (input.startsWith('oci-archive:')) return { transport: 'oci-archive', ...pathAndRef(input.slice(12), 'oci-archive:') };
  if (input.startsWith('oci:')) return { transport: 'oci', ...pathAndRef(input.slice(4), 'oci:') };
  if (input.startsWith('docker-daemon:')) {
    const ref = input.slice(14);
    if (ref === '') throw new ImgtoolError('USAGE', 'docker-daemon: needs an image name or ID, e.g. docker-daemon:app:1.0');
    return { transport: 'docker-daemon', ref };
  }
  if (input.startsWith('docker://')) {
    const ref = input.slice(9);
    if (ref === '') throw new ImgtoolError('USAGE', 'docker:// needs a reference, e.g. docker://registry.example.com/app:1.0');
    return { transport: 'docker', ref };
  }
  if (input === '') throw new ImgtoolError('USAGE', 'no image given');
  return { transport: 'bare', ref: input };
}

/**
 * The builder's automatic platform ARGs (TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT,
 * BUILDPLATFORM, BUILDOS, BUILDARCH, BUILDVARIANT) and the predefined proxy ARGs.
 */
import { parsePlatform } from '../../image/platform.js';

/** ARGs usable without a declaration in RUN's environment when set with --build-arg. */
export const PREDEFINED_PROXY_ARGS: ReadonlySet<string> = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);

/** The automatic platform ARG names, in the builder's order. */
export const PLATFORM_ARG_NAMES: readonly string[] = [
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
];

interface PlatformParts {
  os: string;
  arch: string;
  variant: string;
}

// containerd's Normalize as the builder formats these ARGs: arm64 drops v8, arm defaults to v7.
function normalize(value: string): PlatformParts {
  const p = parsePlatform(value); // validates; throws USAGE on junk
  const os = p.os;
  const arch = p.architecture;
  let variant = p.variant ?? '';
  if (arch === 'arm64' && variant === 'v8') variant = '';
  return { os, arch, variant };
}

const format = (p: PlatformParts): string => `${p.os}/${p.arch}${p.variant ? `/${p.variant}` : ''}`;

/**
 * Values of the automatic platform ARGs. The target platform is `platform`, else the build
 * platform; names whose value cannot be known (no platform given) are listed in `unknown`.
 */
export function platformArgs(platform: string | undefined, buildPlatform: string | undefined): {
  values: Map<string, string>;
  unknown: Set<string>;
} {
  const values = new Map<string, string>();
  const unknown = new Set<string>();
  const build = buildPlatform === undefined ? undefined : normalize(buildPlatform);
  const target = platform === undefined ? build : normalize(platform);
  const set = (prefix: 'TARGET' | 'BUILD', p: PlatformParts | undefined): void => {
    const names = [`${prefix}PLATFORM`, `${prefix}OS`, `${prefix}ARCH`, `${prefix}VARIANT`];
    if (p === undefined) {
      for (const n of names) unknown.add(n);
      return;
    }
    const vals = [format(p), p.os, p.arch, p.variant];
    names.forEach((n, i) => values.set(n, vals[i] ?? ''));
  };
  set('TARGET', target);
  set('BUILD', build);
  return { values, unknown };
}

/**
 * Platforms (`os/arch[/variant]`) as image indexes describe them, and how one is chosen from an
 * index the way containerd's default matcher does (arm64 without a variant means v8, amd64 has
 * no variant, arm without a variant means v7).
 */
import { ImgtoolError } from './errors.js';

/** The platform object of an index entry or an image config (image-spec image-index.md). */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly 'os.features'?: readonly string[];
}

/** Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`); throws USAGE on anything else. */
export function parsePlatform(value: string): Platform {
  const parts = value.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw new ImgtoolError('USAGE', `platform ${JSON.stringify(value)} is not os/arch[/variant]`, {
      hint: 'use e.g. --platform linux/amd64 or --platform linux/arm64/v8',
    });
  }
  const [os, architecture, variant] = parts as [string, string, string?];
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

// Node's process.arch names → OCI architecture names (GOARCH).
const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips: 'mips',
  mipsel: 'mipsle',
};

/**
 * The platform of a Node host, from `process.platform`/`process.arch` values passed by the
 * caller (library code does not read `process`). Images are Linux images even on macOS and
 * Windows hosts, as docker's default is.
 */
export function hostPlatform(_nodePlatform: string, nodeArch: string): Platform {
  return normalizePlatform({ os: 'linux', architecture: NODE_ARCH[nodeArch] ?? nodeArch });
}

/** Applies the usual aliases and default variants so platforms compare by value. */
export function normalizePlatform(p: Platform): Platform {
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  const os = p.os.toLowerCase();
  if (architecture === 'x86_64' || architecture === 'x86-64') architecture = 'amd64';
  if (architecture === 'aarch64') {
    architecture = 'arm64';
  }
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'armhf') {
    architecture = 'arm';
    variant = 'v7';
  }
  if (architecture === 'armel') {
    architecture = 'arm';
    variant = 'v6';
  }
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'arm' && variant !== undefined && /^\d+$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: { -readonly [K in keyof Platform]: Platform[K] } = { os, architecture };
  if (variant !== undefined) out.variant = variant;
  if (p['os.version'] !== undefined) out['os.version'] = p['os.version'];
  if (p['os.features'] !== undefined) out['os.features'] = p['os.features'];
  return out;
}

/** True when `candidate` satisfies `wanted` (os and architecture equal, variant equal after defaults). */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  return w.os === c.os && w.architecture === c.architecture && (w.variant ?? '') === (c.variant ?? '');
}

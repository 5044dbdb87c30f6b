/**
 * TLS material for one registry, the way dockerd finds it: `/etc/docker/certs.d/<host:port>/`
 * holds `*.crt` CA certificates (added to the system roots) and `<name>.cert` + `<name>.key`
 * client certificate pairs; `--ca-cert` adds one more CA file. Also the `--insecure-registry`
 * match used by the scheme decision (loopback hosts are classified in src/image/reference.ts).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { ImgtoolError } from '../../image/errors.js';

/** Where dockerd looks for per-registry certificates. */
export const DOCKER_CERTS_ROOT = '/etc/docker/certs.d';

/** Loaded TLS material for a connection. */
export interface TlsMaterial {
  /** CA bundle: system roots plus extra CAs; undefined when there are no extra CAs. */
  readonly ca?: string[];
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Files that were read, for debug logs. */
  readonly files: readonly string[];
}

/** The hostname part of `host[:port]` / `[v6]:port`, lower-cased, brackets removed. */
export function hostnameOf(host: string): string {
  const h = host.toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colons = h.split(':').length - 1;
  if (colons === 1) return h.slice(0, h.indexOf(':'));
  return h; // bare IPv6 or no port
}

/**
 * True when `host` is listed in `insecure` (daemon-style `insecure-registries`): an exact
 * `host:port`, a bare hostname matching any port, or a CIDR for IPv4 addresses.
 */
export function isInsecureRegistry(host: string, insecure: readonly string[] = []): boolean {
  const h = host.toLowerCase();
  const name = hostnameOf(h);
  for (const raw of insecure) {
    const entry = raw.toLowerCase().replace(/^https?:\/\//, '').replace(/\/+$/, '');
    if (entry === h || entry === name) return true;
    const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(entry);
    if (cidr && /^\d{1,3}(\.\d{1,3}){3}$/.test(name)) {
      const bits = Number(cidr[2]);
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if (((ipv4ToInt(name) & mask) >>> 0) === ((ipv4ToInt(cidr[1] as string) & mask) >>> 0)) return true;
    }
  }
  return false;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => ((acc << 8) + Number(part)) >>> 0, 0);
}

async function readOptional(path: string, signal?: AbortSignal): Promise<Buffer | undefined> {
  try {
    return await readFile(path, signal === undefined ? {} : { signal });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Options for {@link loadTlsMaterial}. */
export interface TlsFiles {
  /** Registry host[:port] (names the default certs.d directory). */
  readonly host: string;
  /** Extra CA file (`--ca-cert`). */
  readonly caFile?: string;
  /** Directory with ca.crt / client.cert / client.key; default /etc/docker/certs.d/<host:port>. */
  readonly certsDir?: string;
  readonly signal?: AbortSignal;
}

/**
 * Loads CAs and the client certificate for a registry. A missing certs directory is normal;
 * an unreadable `--ca-cert`, or a `.cert` without its `.key`, is an error naming the file.
 */
export async function loadTlsMaterial(opts: TlsFiles): Promise<TlsMaterial> {
  const dir = opts.certsDir ?? join(DOCKER_CERTS_ROOT, opts.host);
  const extraCas: string[] = [];
  const files: string[] = [];
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  if (opts.caFile !== undefined) {
    let pem: Buffer;
    try {
      pem = await readFile(opts.caFile, opts.signal === undefined ? {} : { signal: opts.signal });
    } catch (err) {
      throw new ImgtoolError('REGISTRY_TLS', `cannot read the CA certificate ${opts.caFile}: ${(err as Error).message}`, {
        cause: err,
        details: { file: opts.caFile },
        hint: 'pass a readable PEM file with --ca-cert',
      });
    }
    extraCas.push(pem.toString('utf8'));
    files.push(opts.caFile);
  }
  let entries: string[] = [];
  try {
    entries = (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new ImgtoolError('IO', `cannot list ${dir}: ${(err as Error).message}`, { cause: err });
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (name.endsWith('.crt')) {
      const pem = await readOptional(path, opts.signal);
      if (pem) {
        extraCas.push(pem.toString('utf8'));
        files.push(path);
      }
    } else if (name.endsWith('.cert') && cert === undefined) {
      const keyPath = join(dir, `${name.slice(0, -'.cert'.length)}.key`);
      const k = await readOptional(keyPath, opts.signal);
      if (!k) {
        throw new ImgtoolError('REGISTRY_TLS', `client certificate ${path} has no matching key ${keyPath}`, {
          details: { file: path },
          hint: 'put the private key next to the certificate with the same name and a .key extension',
        });
      }
      cert = await readFile(path, opts.signal === undefined ? {} : { signal: opts.signal });
      key = k;
      files.push(path, keyPath);
    }
  }
  return {
    ...(extraCas.length > 0 ? { ca: [...rootCertificates, ...extraCas] } : {}),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    files,
  };
}

// OpenSSL / Node verification failures: the peer speaks TLS but we do not trust it.
const CERT_ERROR_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** True when `codes` contain a certificate verification failure. */
export function isCertificateError(codes: readonly string[]): boolean {
  return codes.some((c) => CERT_ERROR_CODES.has(c));
}

/**
 * True when a TLS handshake failed because the peer does not speak TLS (a plain HTTP server
 * answers the ClientHello with text: "wrong version number", or just closes).
 */
export function isNotTlsError(codes: readonly string[], message: string): boolean {
  if (codes.includes('EPROTO') || codes.includes('ERR_SSL_WRONG_VERSION_NUMBER')) return true;
  return /wrong version number|packet length too long|http request/i.test(message);
}

/**
 * A throw-away PKI for one test run, made with the real `openssl` CLI: a CA, a server
 * certificate for localhost/127.0.0.1, a client certificate (docker --tlsverify), and a
 * self-signed RS256 signing certificate for the token services.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { requireProgram } from './procs.js';

/** Paths of every file the PKI holds (PEM unless said otherwise). */
export interface TestPki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  /** Server certificate with SANs DNS:localhost and IP:127.0.0.1, signed by the CA. */
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate (extendedKeyUsage clientAuth), signed by the CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** Directory with ca.pem, cert.pem, key.pem: what DOCKER_CERT_PATH expects. */
  readonly clientCertDir: string;
  /** Self-signed certificate whose RSA key signs the token services' JWTs (the registries' rootcertbundle). */
  readonly tokenCert: string;
  readonly tokenKey: string;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

function serial(): string {
  // Distinct serials per certificate, as a real CA would issue.
  return `0x${randomBytes(12).toString('hex')}`;
}

/** Signs a fresh RSA key's CSR with the CA, adding the extensions in `ext`. */
function issue(dir: string, name: string, cn: string, ext: string[], caCert: string, caKey: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, `${ext.join('\n')}\n`);
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-set_serial', serial(), '-days', '3', '-sha256', '-extfile', extFile, '-out', cert]);
  return { cert, key };
}

/** Creates the whole PKI under `dir` (about a second of openssl). */
export function makePki(dir: string): TestPki {
  requireProgram('/usr/bin/openssl', 'openssl');
  mkdirSync(dir, { recursive: true });
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  openssl([
    'req', '-x509', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', caKey, '-out', caCert,
    '-subj', '/CN=imgtool test CA', '-days', '3', '-sha256', '-set_serial', serial(),
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const server = issue(dir, 'server', 'localhost', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], caCert, caKey);
  const client = issue(dir, 'client', 'imgtool-test-client', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=clientAuth',
  ], caCert, caKey);
  const clientCertDir = join(dir, 'client');
  mkdirSync(clientCertDir, { recursive: true });
  copyFileSync(caCert, join(clientCertDir, 'ca.pem'));
  copyFileSync(client.cert, join(clientCertDir, 'cert.pem'));
  copyFileSync(client.key, join(clientCertDir, 'key.pem'));
  const tokenCert = join(dir, 'token.crt');
  const tokenKey = join(dir, 'token.key');
  openssl([
    'req', '-x509', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', tokenKey, '-out', tokenCert,
    '-subj', '/CN=imgtool test token signer', '-days', '3', '-sha256', '-set_serial', serial(),
  ]);
  return { dir, caCert, caKey, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key, clientCertDir, tokenCert, tokenKey };
}

/** Base64 DER of the first certificate in a PEM file (the JOSE `x5c` form). */
export function pemToDerBase64(pemFile: string): string {
  const pem = readFileSync(pemFile, 'utf8');
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m?.[1]) throw new Error(`test world: no certificate in ${pemFile}`);
  return m[1].replace(/\s+/g, '');
}

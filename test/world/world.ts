/**
 * The test world: real servers started once per integration run by global-setup.ts and
 * described to tests through vitest's provide/inject. Tests call `world()` to get it.
 *
 * Accounts (passwords random per run, all listed in `secrets`):
 * - basic: `ci-user` (htpasswd bcrypt)          - tls: `tls-user` (htpasswd bcrypt, https)
 * - harbor: `robot$team+ci` (push+pull team/*), `robot$team+reader` (pull team/*)
 * - hub: `imgtooltest` (push+pull imgtooltest/*, pull anything; anonymous: pull anything)
 * Tools for tests: fault-proxy.ts (faults in front of a registry or the daemon socket),
 * base-image.ts (`dockerCli`, `dockerCliAsync`), dockerd.ts/registry.ts (extra private servers:
 * put their dirs under `tmp` so teardown finds them).
 */
import { readFileSync } from 'node:fs';
import { inject } from 'vitest';

/** A private dockerd started by the harness. */
export interface WorldDaemon {
  /** e.g. unix:///tmp/itw-123/d.sock */
  readonly host: string;
  /** Filesystem path of the unix socket. */
  readonly socketPath: string;
  /** Directory holding data-root, exec-root, pidfile, log. */
  readonly dir: string;
}

/** A TLS-protected dockerd on tcp://127.0.0.1:<port> (--tlsverify) with test-generated certs. */
export interface WorldTlsDaemon {
  readonly host: string; // tcp://127.0.0.1:<port>
  /** Directory with ca.pem, cert.pem, key.pem (client side), usable as DOCKER_CERT_PATH. */
  readonly certPath: string;
  /** The same daemon's unix socket (no TLS), e.g. for setting up state behind the test's back. */
  readonly socketPath: string;
  /** Directory holding its data-root, exec-root, pidfile, log. */
  readonly dir: string;
}

/** A distribution registry started by the harness. */
export interface WorldRegistry {
  /** host:port as used in image references, e.g. 127.0.0.1:5001 */
  readonly host: string;
  /** Base URL, e.g. http://127.0.0.1:5001 or https://localhost:5443 */
  readonly url: string;
  /** Credentials that are accepted (absent for anonymous registries). */
  readonly username?: string;
  readonly password?: string;
  /** The registry's filesystem storage root (`docker/registry/v2/{blobs,repositories}` below it), to check what really landed. */
  readonly dataDir?: string;
}

/** A registry that requires credentials: `username`/`password` are always set. */
export interface WorldAuthRegistry extends WorldRegistry {
  readonly username: string;
  readonly password: string;
}

/** Token-auth registry: the registry's realm points at a token service in test code. */
export interface WorldTokenRegistry extends WorldAuthRegistry {
  /** Realm URL of the token service. */
  readonly realm: string;
  /** `service` value in the challenge (harbor-registry / registry.docker.io). */
  readonly service: string;
  /** JWT `iss` the registry trusts. */
  readonly issuer: string;
  /** Repository prefix the main account may push to, e.g. `team/` (harbor) or `<user>/` (hub). */
  readonly namespace: string;
}

/**
 * Harbor stand-in: a front on `host` serving `/service/token` (GET only; POST answers 405),
 * `/api/v2.0/projects...` (canned, project `team` exists) and forwarding `/v2/...` to a real
 * registry. `username` is `robot$team+ci` (push+pull on team/*).
 */
export interface WorldHarbor extends WorldTokenRegistry {
  /** The existing project: `team`. */
  readonly project: string;
  /** Pull-only robot `robot$team+reader` on team/*. */
  readonly reader: { readonly username: string; readonly password: string };
  /** host:port of the real registry behind the front (it still demands tokens). */
  readonly backendHost: string;
}

/** Test PKI made with openssl for this run (all PEM). */
export interface WorldPki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  /** SANs DNS:localhost, IP:127.0.0.1. */
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** ca.pem, cert.pem, key.pem for DOCKER_CERT_PATH. */
  readonly clientCertDir: string;
}

/** Everything tests can talk to. */
export interface World {
  /** Private dockerd on a unix socket. */
  readonly docker: WorldDaemon;
  /** Second private dockerd over tcp with --tlsverify (client certs in `certPath`); has the base image too. */
  readonly dockerTls: WorldTlsDaemon;
  /** No auth (still plain HTTP on loopback). */
  readonly open: WorldRegistry;
  /** htpasswd (bcrypt) Basic auth, user `ci-user` with a random password. */
  readonly basic: WorldAuthRegistry;
  /** Harbor-like token auth: service "harbor-registry", user `robot$team+ci`, realm .../service/token (GET only, POST answers 405). */
  readonly harbor: WorldHarbor;
  /** Docker Hub-like token auth with the token service on a separate host:port (service "registry.docker.io", GET and OAuth2 POST). */
  readonly hub: WorldTokenRegistry;
  /**
   * TLS registry (Basic auth) with a CA the tests generated; `caFile` is the CA certificate.
   * `host` is `localhost:<port>` and has the CA in /etc/docker/certs.d/<host>/ca.crt for the run;
   * `ipHost` (`127.0.0.1:<port>`, also in the certificate) has no certs.d entry, for "untrusted
   * unless told" tests.
   */
  readonly tls: WorldAuthRegistry & { readonly caFile: string; readonly ipHost: string };
  /** The run's CA and certificates. */
  readonly pki: WorldPki;
  /** A small base image in the private dockerd, built FROM scratch with busybox-static: e.g. imgtool-test/busybox:1.0 */
  readonly baseImage: string;
  /** `docker save` of the base image, to `docker load` into daemons a test starts itself. */
  readonly baseImageTar: string;
  /** Every password the world made at setup, for "no secret printed" assertions (tokens issued later: see {@link worldSecrets}). */
  readonly secrets: readonly string[];
  /** File where the token services append every token/refresh token they issue (one a line). */
  readonly secretsFile: string;
  /** Scratch directory for this run (deleted at teardown). */
  readonly tmp: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    world: World;
  }
}

/** The world of this integration run. */
export function world(): World {
  return inject('world');
}

/** All secrets so far: the passwords plus every token issued until now. */
export function worldSecrets(w: World = world()): string[] {
  let issued: string[] = [];
  try {
    issued = readFileSync(w.secretsFile, 'utf8').split('\n').filter(Boolean);
  } catch {
    /* nothing issued yet */
  }
  return [...w.secrets, ...issued];
}

/** The secrets found in `text` (empty when nothing leaked). Give it everything a run printed. */
export function leakedSecrets(text: string, w: World = world()): string[] {
  return worldSecrets(w).filter((s) => text.includes(s));
}

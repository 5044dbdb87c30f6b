/**
 * The test world: real servers started once per integration run by global-setup.ts and
 * described to tests through vitest's provide/inject. Tests call `world()` to get it.
 */
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
}

/** Token-auth registry: the registry's realm points at a token service in test code. */
export interface WorldTokenRegistry extends WorldRegistry {
  /** Realm URL of the token service. */
  readonly realm: string;
  /** `service` value in the challenge (harbor-registry / registry.docker.io). */
  readonly service: string;
}

/** Everything tests can talk to. */
export interface World {
  /** Private dockerd on a unix socket. */
  readonly docker: WorldDaemon;
  /** Second private dockerd over tcp with --tlsverify (created lazily: may be absent until asked). */
  readonly dockerTls: WorldTlsDaemon;
  /** No auth (still plain HTTP on loopback). */
  readonly open: WorldRegistry;
  /** htpasswd (bcrypt) Basic auth. */
  readonly basic: WorldRegistry;
  /** Harbor-like token auth: service "harbor-registry", user `robot$team+ci`, realm .../service/token (GET only, POST answers 405). */
  readonly harbor: WorldTokenRegistry;
  /** Docker Hub-like token auth with the token service on a separate host:port (service "registry.docker.io"). */
  readonly hub: WorldTokenRegistry;
  /** TLS registry (Basic auth) with a CA the tests generated; `caFile` is the CA certificate. */
  readonly tls: WorldRegistry & { readonly caFile: string };
  /** A small base image in the private dockerd, built FROM scratch with busybox-static: e.g. imgtool-test/busybox:1.0 */
  readonly baseImage: string;
  /** Every password/token the world uses, for "no secret printed" assertions. */
  readonly secrets: readonly string[];
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

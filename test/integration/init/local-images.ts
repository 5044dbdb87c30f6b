/**
 * Base images for the `imgtool init` build tests, made on this machine (no registry can be
 * reached from here): they stand in for the official images the generated Dockerfiles name.
 *
 *   node runtime   (node:20.18-bookworm-slim)   busybox base + the host's `node` and the
 *                                                shared libraries `ldd` lists + user node (1000)
 *   node builder   (slim, used to install)      the runtime image + the host's npm
 *   Debian toolchain                             FROM scratch + the files of the installed Debian
 *                                                packages g++, make, python3, dash, coreutils and
 *                                                everything they depend on (dpkg's own lists,
 *                                                merged-/usr layout), like a tiny debootstrap
 *   node toolchain (node:20.18-bookworm)         Debian toolchain + node + npm + Node's headers
 *   golang         (golang:1.22-bookworm)        Debian toolchain + Debian's golang-1.19 (gcc for cgo),
 *                                                with a warm build cache for the std packages used
 *   static         (distroless static:nonroot)   FROM scratch + CA certificates + passwd
 *   glibc          (distroless base:nonroot)     FROM scratch + libc6 and its dependencies + CA certificates
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { dockerCliAsync } from '../../world/base-image.js';

/** Tags of the local images, by the official image they replace. */
export const LOCAL_IMAGES = {
  nodeRuntime: 'imgtool-test/node:20-runtime',
  nodeBuilder: 'imgtool-test/node:20-npm',
  debianToolchain: 'imgtool-test/debian-toolchain:12',
  nodeToolchain: 'imgtool-test/node:20-toolchain',
  golang: 'imgtool-test/golang:1.19',
  static: 'imgtool-test/static:1',
  glibc: 'imgtool-test/glibc:12',
} as const;

async function build(host: string, dir: string, tag: string): Promise<void> {
  const res = await dockerCliAsync(host, ['build', '-q', '-t', tag, dir]);
  if (res.code !== 0) throw new Error(`building ${tag} failed (exit ${res.code}):\n${res.stderr}\n${res.stdout}`);
}

function sh(cmd: string): string {
  return execFileSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
}

const PASSWD = [
  'root:x:0:0:root:/root:/bin/sh',
  'node:x:1000:1000:node:/home/node:/bin/sh',
  'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin',
  'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
  '',
].join('\n');
const GROUP = ['root:x:0:', 'node:x:1000:', 'nonroot:x:65532:', 'nogroup:x:65534:', ''].join('\n');

/** Writes /etc/passwd, /etc/group, /tmp, home directories into a rootfs directory. */
function addUsers(rootfs: string): void {
  mkdirSync(join(rootfs, 'etc'), { recursive: true });
  writeFileSync(join(rootfs, 'etc/passwd'), PASSWD);
  writeFileSync(join(rootfs, 'etc/group'), GROUP);
  for (const d of ['tmp', 'root', 'home/node', 'home/nonroot']) mkdirSync(join(rootfs, d), { recursive: true });
}

function addCaCertificates(rootfs: string): void {
  mkdirSync(join(rootfs, 'etc/ssl/certs'), { recursive: true });
  copyFileSync('/etc/ssl/certs/ca-certificates.crt', join(rootfs, 'etc/ssl/certs/ca-certificates.crt'));
}

/** Installed Debian packages needed by `roots`, following Depends and Pre-Depends (first installed alternative). */
export function debianClosure(roots: readonly string[]): string[] {
  const status = sh("dpkg-query -W -f='${db:Status-Abbrev}\\t${Package}\\t${Provides}\\t${Pre-Depends}, ${Depends}\\n'");
  const installed = new Map<string, string>();
  const provides = new Map<string, string>();
  for (const line of status.split('\n')) {
    const [state, pkg, prov, deps] = line.split('\t');
    if (!state?.startsWith('ii') || !pkg) continue;
    installed.set(pkg, deps ?? '');
    for (const p of (prov ?? '').split(',')) {
      const name = p.trim().split(/[\s(]/)[0];
      if (name && !provides.has(name)) provides.set(name, pkg);
    }
  }
  const resolve = (name: string): string | undefined => (installed.has(name) ? name : provides.get(name));
  const out = new Set<string>();
  const queue = [...roots];
  while (queue.length > 0) {
    const pkg = resolve(queue.shift() ?? '');
    if (!pkg || out.has(pkg)) continue;
    out.add(pkg);
    for (const dep of (installed.get(pkg) ?? '').split(',')) {
      const alternatives = dep.split('|').map((a) => a.trim().split(/[\s(:]/)[0] ?? '').filter(Boolean);
      const pick = alternatives.find((a) => resolve(a) !== undefined);
      if (pick) queue.push(pick);
    }
  }
  return [...out].sort();
}

/**
 * Copies the files of `packages` (as dpkg lists them) into `rootfs` with Debian's merged-/usr
 * layout (bin, lib, lib64, sbin are links into usr). Documentation and, for Go, tests and the
 * prebuilt standard library (which `go build -trimpath` rebuilds anyway) are left out.
 */
export function copyDebianPackages(packages: readonly string[], rootfs: string): void {
  mkdirSync(join(rootfs, 'usr'), { recursive: true });
  for (const d of ['bin', 'lib', 'lib64', 'sbin']) {
    mkdirSync(join(rootfs, 'usr', d), { recursive: true });
    try {
      symlinkSync(`usr/${d}`, join(rootfs, d));
    } catch {
      /* already there */
    }
  }
  const files = sh(`dpkg-query -L ${packages.join(' ')}`)
    .split('\n')
    .filter((f) => f.startsWith('/') && !['/', '/bin', '/lib', '/lib64', '/sbin', '/usr'].includes(f))
    .filter((f) => !/^\/usr\/share\/(doc|man|info|locale|lintian|bug|bash-completion)\//.test(f))
    .filter((f) => !/^\/usr\/(lib|share)\/go-[\d.]+\/(src\/.*(_test\.go|\/testdata(\/.*)?)|test\/.*|pkg\/linux_amd64(_race|_dynlink)?(\/.*)?)$/.test(f))
    .map((f) => f.slice(1));
  const list = join(rootfs, '..', 'files.txt');
  writeFileSync(list, `${[...new Set(files)].join('\n')}\n`);
  // --no-recursion: a listed directory must not drag in files of other packages.
  sh(`tar -C / --no-recursion -cf - -T ${list} 2>/dev/null | tar -C ${rootfs} -xf -`);
}

/** Copies `/usr/bin/node` and the shared libraries it needs into `rootfs`. */
function addHostNode(rootfs: string, binDir: string): void {
  const node = realpathSync('/usr/bin/node');
  mkdirSync(join(rootfs, binDir), { recursive: true });
  copyFileSync(node, join(rootfs, binDir, 'node'));
  for (const line of sh(`ldd ${node}`).split('\n')) {
    const lib = /(\/\S+) \(0x/.exec(line)?.[1];
    if (!lib) continue;
    mkdirSync(join(rootfs, dirname(lib)), { recursive: true });
    copyFileSync(realpathSync(lib), join(rootfs, lib));
  }
}

/** Copies the host's npm into `<rootfs>/usr/local/lib/node_modules/npm` with bin links. */
function addHostNpm(rootfs: string): void {
  const npmDir = dirname(dirname(realpathSync('/usr/bin/npm')));
  cpSync(npmDir, join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
}

const PATH_ENV = 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Builds every local image the init tests use. `dir` is a scratch directory. */
export async function buildLocalImages(host: string, busybox: string, dir: string): Promise<void> {
  // node runtime: busybox + node + its libraries + user node.
  const rt = join(dir, 'node-runtime');
  addHostNode(join(rt, 'rootfs'), 'usr/local/bin');
  mkdirSync(join(rt, 'rootfs/home/node'), { recursive: true });
  writeFileSync(
    join(rt, 'Dockerfile'),
    [
      `FROM ${busybox}`,
      'COPY rootfs/ /',
      'RUN echo "node:x:1000:1000:node:/home/node:/bin/sh" >> /etc/passwd && echo "node:x:1000:" >> /etc/group && chown 1000:1000 /home/node && chmod 1777 /tmp',
      PATH_ENV,
      'CMD ["node"]',
      '',
    ].join('\n'),
  );
  await build(host, rt, LOCAL_IMAGES.nodeRuntime);

  // node builder: the runtime + npm.
  const nb = join(dir, 'node-npm');
  addHostNpm(join(nb, 'rootfs'));
  writeFileSync(join(nb, 'Dockerfile'), [`FROM ${LOCAL_IMAGES.nodeRuntime}`, 'COPY rootfs/ /', ''].join('\n'));
  await build(host, nb, LOCAL_IMAGES.nodeBuilder);

  // Debian toolchain from the host's installed packages.
  const tc = join(dir, 'debian-toolchain');
  const tcRoot = join(tc, 'rootfs');
  copyDebianPackages(debianClosure(['g++', 'make', 'python3', 'dash', 'coreutils', 'sed', 'grep', 'findutils']), tcRoot);
  addUsers(tcRoot);
  addCaCertificates(tcRoot);
  // update-alternatives and dash's postinst make these links on a real system.
  for (const [link, target] of [['usr/bin/sh', 'dash'], ['usr/bin/cc', 'gcc'], ['usr/bin/c++', 'g++']] as const) {
    try {
      symlinkSync(target, join(tcRoot, link));
    } catch {
      /* the package shipped it */
    }
  }
  writeFileSync(join(tc, 'Dockerfile'), ['FROM scratch', 'COPY rootfs/ /', PATH_ENV, 'ENV HOME=/root', 'CMD ["/bin/sh"]', ''].join('\n'));
  await build(host, tc, LOCAL_IMAGES.debianToolchain);

  // node toolchain: + node, npm and Node's headers. The official images fetch the headers on
  // first use; there is no network here, so node-gyp is pointed at the copy (npm_config_nodedir).
  const nt = join(dir, 'node-toolchain');
  const ntRoot = join(nt, 'rootfs');
  mkdirSync(join(ntRoot, 'usr/local/bin'), { recursive: true });
  copyFileSync(realpathSync('/usr/bin/node'), join(ntRoot, 'usr/local/bin/node'));
  addHostNpm(ntRoot);
  cpSync('/usr/include/node', join(ntRoot, 'usr/local/include/node'), { recursive: true });
  writeFileSync(
    join(nt, 'Dockerfile'),
    [`FROM ${LOCAL_IMAGES.debianToolchain}`, 'COPY rootfs/ /', 'ENV npm_config_nodedir=/usr/local', ''].join('\n'),
  );
  await build(host, nt, LOCAL_IMAGES.nodeToolchain);

  // golang: + Debian's Go 1.19 (gcc is already there for cgo).
  const go = join(dir, 'golang');
  const goRoot = join(go, 'rootfs');
  const toolchainPkgs = new Set(debianClosure(['g++', 'make', 'python3', 'dash', 'coreutils', 'sed', 'grep', 'findutils']));
  copyDebianPackages(debianClosure(['golang-go']).filter((p) => !toolchainPkgs.has(p)), goRoot);
  writeFileSync(
    join(go, 'Dockerfile'),
    [
      `FROM ${LOCAL_IMAGES.debianToolchain}`,
      'COPY rootfs/ /',
      // GOPROXY=off: the tests' modules have no dependencies to download, and nothing may try.
      'ENV GOPATH=/go GOPROXY=off',
      // Speed only: compile once, into the image's build cache, the standard packages the
      // fixtures import, with the flags the generated Dockerfiles use (-trimpath, cgo off and on).
      // Each test build would otherwise compile them again (the official image has no warm cache).
      'RUN CGO_ENABLED=0 go build -trimpath net/http encoding/json && CGO_ENABLED=1 go build -trimpath runtime/cgo encoding/json fmt os',
      '',
    ].join('\n'),
  );
  await build(host, go, LOCAL_IMAGES.golang);

  // static: what distroless static holds that a static binary can use.
  const st = join(dir, 'static');
  addUsers(join(st, 'rootfs'));
  addCaCertificates(join(st, 'rootfs'));
  writeFileSync(join(st, 'Dockerfile'), ['FROM scratch', 'COPY rootfs/ /', ''].join('\n'));
  await build(host, st, LOCAL_IMAGES.static);

  // glibc: what distroless base holds: glibc, CA certificates, users.
  const gl = join(dir, 'glibc');
  copyDebianPackages(debianClosure(['libc6']), join(gl, 'rootfs'));
  addUsers(join(gl, 'rootfs'));
  addCaCertificates(join(gl, 'rootfs'));
  writeFileSync(join(gl, 'Dockerfile'), ['FROM scratch', 'COPY rootfs/ /', ''].join('\n'));
  await build(host, gl, LOCAL_IMAGES.glibc);
}

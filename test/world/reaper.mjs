// The test world's reaper: a detached plain-JS process (no TS loader needed) started by
// global-setup. It tears the world down when told to (SIGUSR2, normal teardown) or when the
// vitest process it watches disappears (Ctrl-C, SIGKILL, crash), because vitest exits on SIGINT
// without running globalSetup teardowns.
//
// usage: node reaper.mjs <world tmp dir /tmp/itw-*> <pid to watch>
// Files it reads from the tmp dir: .pids (one server pid a line), .cleanup (extra paths to
// remove, only under /etc/docker/certs.d/). It only kills processes whose command line names
// the world's tmp dir, so a reused pid never hits someone else's process.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

const [tmp, watchArg] = process.argv.slice(2);
if (!tmp || !/^\/tmp\/itw-[A-Za-z0-9]+$/.test(tmp) || !watchArg) {
  process.stderr.write('reaper: usage: reaper.mjs /tmp/itw-XXXX <pid>\n');
  process.exit(2);
}
const watch = Number(watchArg);

const lines = (file) => {
  try {
    return readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
  } catch {
    return [];
  }
};

const cmdline = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
};

/** Pids of live processes whose command line mentions the world dir (ours by construction). */
const ours = (candidates) => candidates.filter((pid) => pid !== process.pid && (cmdline(pid) ?? '').includes(tmp));

const allPids = () => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);

const signal = (pids, sig) => {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
};

async function stopAll(pids, graceMs) {
  signal(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (ours(pids).length > 0 && Date.now() < deadline) await sleep(200);
  signal(ours(pids), 'SIGKILL');
}

/** Mount points at or below the world dir, deepest first (overlay/shm mounts of a killed dockerd). */
function mountsBelow() {
  return lines('/proc/self/mountinfo')
    .map((l) => l.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m !== undefined && (m === tmp || m.startsWith(`${tmp}/`)))
    .sort((a, b) => b.length - a.length);
}

let running = false;
async function reap() {
  if (running) return;
  running = true;
  // Servers first (dockerd gets time to stop its containers), then anything else naming the dir
  // (containerd, shims), by pid.
  await stopAll(ours(lines(`${tmp}/.pids`).map(Number)), 20_000);
  await stopAll(ours(allPids()), 5_000);
  for (const path of lines(`${tmp}/.cleanup`)) {
    if (path.startsWith('/etc/docker/certs.d/') && !path.includes('..')) rmSync(path, { recursive: true, force: true });
  }
  for (const m of mountsBelow()) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      /* not mounted any more */
    }
  }
  // Move the dir aside first (instant), so whoever waits for teardown can go on while the
  // slow part, deleting a dockerd data-root, finishes here.
  let doomed = tmp;
  if (existsSync(tmp)) {
    try {
      renameSync(tmp, `${tmp}.rm`);
      doomed = `${tmp}.rm`;
    } catch {
      /* delete in place */
    }
    try {
      // --one-file-system: never descend into something still mounted below the dir.
      execFileSync('rm', ['-rf', '--one-file-system', doomed], { stdio: 'ignore' });
    } catch {
      /* left for a human: the path is in the run's log ("test world ready ... under") */
    }
  }
  process.exit(0);
}

process.on('SIGUSR2', () => void reap());
process.on('SIGTERM', () => void reap());
process.on('SIGINT', () => {
  /* the run's Ctrl-C is the watched process's business; we clean up after it */
});
setInterval(() => {
  try {
    process.kill(watch, 0);
  } catch {
    void reap();
  }
}, 500);

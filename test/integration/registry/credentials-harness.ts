/**
 * Helpers for the registry CLI tests: imgtool run in-process with captured streams, imgtool
 * run as a separate process (from a private build), and the docker CLI 28 pointed at the
 * same DOCKER_CONFIG directory as imgtool.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { dockerCliAsync, type DockerCliResult } from '../../world/base-image.js';
import { leakedSecrets, world } from '../../world/world.js';
import { runInProcess } from '../../world/in-process.js';
import { recordImgtoolRun } from '../../world/transcript.js';

const root = join(dirname(new URL(import.meta.url).pathname), '../../..');

/** What a CLI run printed. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Everything every run printed in this test file, for the "no secret printed" assertion. */
export const transcript: string[] = [];

/** A DOCKER_CONFIG directory of its own (fresh config.json for each test). */
export function freshDockerConfig(label: string): string {
  const dir = mkdtempSync(join(world().tmp, `cfg-${label}-`));
  return dir;
}

/** Base environment for imgtool and docker: the private daemon, a config dir, PATH with extra bins. */
export function cliEnv(configDir: string, extra: Record<string, string> = {}, binDir?: string): Record<string, string> {
  const path = [binDir, process.env['PATH'] ?? '/usr/bin:/bin'].filter(Boolean).join(':');
  return { DOCKER_HOST: world().docker.host, DOCKER_CONFIG: configDir, HOME: world().tmp, PATH: path, ...extra };
}

/** Runs imgtool in-process with captured streams (stdout and stderr are not TTYs). */
export async function imgtool(argv: string[], env: Record<string, string>, stdin = ''): Promise<CliResult> {
  const result = await runInProcess(argv, { label: 'credentials-harness', env, cwd: world().tmp, stdin });
  transcript.push(result.stdout, result.stderr);
  return result;
}

/** The docker CLI with the same config dir and PATH as imgtool (never throws). */
export async function docker(args: string[], env: Record<string, string>, stdin?: string): Promise<DockerCliResult> {
  const r = await dockerCliAsync(world().docker.host, args, stdin, env);
  transcript.push(r.stdout, r.stderr);
  return r;
}

/** Fails with both streams when the docker CLI failed. */
export function ok(r: DockerCliResult | CliResult, what: string): void {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
}

let built: Promise<string> | undefined;
let builtDir: string | undefined;

/** Removes the private build made by {@link buildCli} (call from afterAll). */
export async function removeBuild(): Promise<void> {
  if (builtDir) await rm(builtDir, { recursive: true, force: true });
}

/**
 * Compiles imgtool once per test file into a private directory (so concurrent test runs do
 * not race on dist/), and returns its main.js. tsc emits even if another module has type
 * errors; only a missing main.js is a failure.
 */
export function buildCli(): Promise<string> {
  built ??= (async () => {
    const dir = mkdtempSync(join(root, '.test-build-'));
    builtDir = dir;
    copyFileSync(join(root, 'package.json'), join(dir, 'package.json'));
    mkdirSync(join(dir, 'dist'));
    await promisify(execFile)(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json'), '--outDir', join(dir, 'dist'), '--declaration', 'false', '--sourceMap', 'false'], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    }).catch(() => undefined);
    const main = join(dir, 'dist/cli/main.js');
    if (!existsSync(main)) throw new Error(`tsc produced no ${main}`);
    return main;
  })();
  return built;
}

/** Runs the built imgtool as its own process. */
export function imgtoolProcess(main: string, argv: string[], env: Record<string, string>, stdin = ''): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [main, ...argv], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => {
      transcript.push(stdout, stderr);
      recordImgtoolRun('credentials-harness (process)', argv, { stdout, stderr });
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

/** The world's secrets found anywhere in this file's transcript. */
export function leakedInTranscript(): string[] {
  return leakedSecrets(transcript.join('\n'));
}

/** A unique lowercase suffix for repository names. */
export function uniq(): string {
  return Math.random().toString(36).slice(2, 8);
}

/** HEADs a manifest on a registry without auth (open registry) and returns Docker-Content-Digest. */
export async function registryDigest(baseUrl: string, repo: string, tag: string, authorization?: string): Promise<string | null> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json',
      ...(authorization ? { authorization } : {}),
    },
  });
  return res.ok ? res.headers.get('docker-content-digest') : null;
}

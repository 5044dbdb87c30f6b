/**
 * `imgtool init` as a library call: find out what the project is, render the Dockerfile and
 * .dockerignore from templates/, and write them without clobbering anything.
 */
import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { planBuild } from '../build/plan/index.js';
import type { LintWarning } from '../build/plan/types.js';
import { ImgtoolError } from '../image/errors.js';
import { checkAborted, exists } from './fs-util.js';
import { detectGoProject } from './go-detect.js';
import { detectNodeProject } from './node-detect.js';
import { renderGo } from './render-go.js';
import { renderNode } from './render-node.js';
import type { InitLanguage, InitOutput, InitProject } from './types.js';

/** Options for {@link detectProject}. */
export interface DetectProjectOptions {
  /** Skip language detection (`--lang`). */
  readonly lang?: InitLanguage | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** Decides the language from go.mod / package.json (or `lang`) and detects the project. */
export async function detectProject(dir: string, options: DetectProjectOptions = {}): Promise<InitProject> {
  const root = resolve(dir);
  const signal = options.signal;
  const opts = signal ? { signal } : {};
  if (!(await exists(root))) {
    throw new ImgtoolError('INIT_DETECT_FAILED', `${root} does not exist`, { details: { file: root }, hint: 'pass the project directory: imgtool init path/to/app' });
  }
  let lang = options.lang;
  if (!lang) {
    const [isGo, isNode] = await Promise.all([exists(join(root, 'go.mod')), exists(join(root, 'package.json'))]);
    if (isGo && isNode) {
      throw new ImgtoolError('INIT_DETECT_FAILED', `${root} has both go.mod and package.json, so imgtool cannot tell which app to package`, {
        details: { file: root },
        hint: 'choose one with --lang go or --lang node',
      });
    }
    if (!isGo && !isNode) {
      throw new ImgtoolError('INIT_DETECT_FAILED', `${root} has neither go.mod nor package.json: imgtool init writes Dockerfiles for Go modules and Node apps`, {
        details: { file: root },
        hint: 'run it in the project root, or pass the directory: imgtool init path/to/app',
      });
    }
    lang = isGo ? 'go' : 'node';
  }
  checkAborted(signal, 'imgtool init');
  return lang === 'go' ? detectGoProject(root, opts) : detectNodeProject(root, opts);
}

/** Renders the files for a detected project. */
export async function renderProject(project: InitProject, signal?: AbortSignal): Promise<InitOutput> {
  return project.language === 'go' ? renderGo(project, signal) : renderNode(project, signal);
}

/** The file names `imgtool init` writes, in order. */
export const INIT_FILES = ['Dockerfile', '.dockerignore'] as const;

/** Options for {@link writeInitFiles}. */
export interface WriteInitOptions {
  /** Overwrite existing files (`--force`). */
  readonly force?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Writes Dockerfile and .dockerignore into `dir`. Without `force`, an existing file is an
 * INIT_EXISTS error naming it, and nothing is written (both are checked first).
 * Returns the paths written.
 */
export async function writeInitFiles(dir: string, output: InitOutput, options: WriteInitOptions = {}): Promise<string[]> {
  const root = resolve(dir);
  const files: [string, string][] = [
    [join(root, 'Dockerfile'), output.dockerfile],
    [join(root, '.dockerignore'), output.dockerignore],
  ];
  if (!options.force) {
    for (const [path] of files) {
      if (await exists(path)) {
        throw new ImgtoolError('INIT_EXISTS', `${path} already exists; imgtool init does not overwrite it`, {
          details: { file: path },
          hint: 'use --force to replace it, or --print to see what imgtool would write',
        });
      }
    }
  }
  const written: string[] = [];
  for (const [path, content] of files) {
    checkAborted(options.signal, 'imgtool init');
    // 'wx' closes the gap between the check above and the write: a file that appeared since is not clobbered.
    const handle = await open(path, options.force ? 'w' : 'wx').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') {
        throw new ImgtoolError('INIT_EXISTS', `${path} already exists; imgtool init does not overwrite it`, {
          details: { file: path },
          hint: 'use --force to replace it',
        });
      }
      throw new ImgtoolError('IO', `cannot write ${path}: ${err.message}`, { cause: err, details: { file: path } });
    });
    try {
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    written.push(path);
  }
  return written;
}

/** Options for {@link initProject}. */
export interface InitProjectOptions extends DetectProjectOptions {
  /** Write the files (default). False renders only, as `--print` does. */
  readonly write?: boolean;
  readonly force?: boolean;
}

/**
 * Runs imgtool's own Dockerfile planner over a generated Dockerfile, as `imgtool plan` would
 * (without a context): a self-check, so a template regression shows up as a warning at once.
 */
export function lintGenerated(output: InitOutput): LintWarning[] {
  return [...planBuild({ dockerfileText: output.dockerfile, dockerfilePath: 'Dockerfile' }).warnings];
}

/** The result of {@link initProject}. */
export interface InitResult {
  readonly project: InitProject;
  readonly output: InitOutput;
  /** What `imgtool plan` says about the generated Dockerfile: empty unless a template regressed. */
  readonly planWarnings: readonly LintWarning[];
  /** Paths written; empty when `write` was false. */
  readonly written: readonly string[];
}

/** Detects, renders and (unless `write: false`) writes: all of `imgtool init`. */
export async function initProject(dir: string, options: InitProjectOptions = {}): Promise<InitResult> {
  const project = await detectProject(dir, options);
  const output = await renderProject(project, options.signal);
  const planWarnings = lintGenerated(output);
  const written = options.write === false ? [] : await writeInitFiles(dir, output, { force: options.force ?? false, signal: options.signal });
  return { project, output, planWarnings, written };
}

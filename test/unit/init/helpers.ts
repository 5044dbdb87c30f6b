/** Helpers for the init unit tests: throwaway projects written from a file map. */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The init fixtures directory. */
export const FIXTURES = fileURLToPath(new URL('../../fixtures/init/', import.meta.url));

const made: string[] = [];

/** Creates a temporary project from `files` (path -> content) and returns its directory. */
export function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'imgtool-init-'));
  made.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

/** A private copy of fixture `name` (init writes into it); removed by {@link cleanProjects}. */
export function copyFixture(name: string): string {
  const parent = mkdtempSync(join(tmpdir(), 'imgtool-init-'));
  made.push(parent);
  const dir = join(parent, name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  return dir;
}

/** Removes every project made so far (call from afterAll). */
export function cleanProjects(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** package.json text. */
export const pkg = (value: Record<string, unknown>): string => `${JSON.stringify(value, null, 2)}\n`;

/** One Dockerfile instruction (generated Dockerfiles have no continuation lines). */
export interface Instruction {
  readonly keyword: string;
  readonly rest: string;
  readonly line: number;
}

/** The instructions of a Dockerfile, comments and blank lines skipped. */
export function instructions(dockerfile: string): Instruction[] {
  return dockerfile
    .split('\n')
    .map((text, i) => ({ text: text.trim(), line: i + 1 }))
    .filter((l) => l.text !== '' && !l.text.startsWith('#'))
    .map((l) => {
      const [keyword = '', ...rest] = l.text.split(/\s+/);
      return { keyword: keyword.toUpperCase(), rest: rest.join(' '), line: l.line };
    });
}

/** Instructions grouped by stage (from each FROM to the next). */
export function stages(dockerfile: string): Instruction[][] {
  const out: Instruction[][] = [];
  for (const ins of instructions(dockerfile)) {
    if (ins.keyword === 'FROM') out.push([]);
    out[out.length - 1]?.push(ins);
  }
  return out;
}

/** Index of the first instruction of `list` matching `keyword` and `rest` pattern, -1 when none. */
export function indexOf(list: readonly Instruction[], keyword: string, rest: RegExp = /.*/): number {
  return list.findIndex((i) => i.keyword === keyword && rest.test(i.rest));
}

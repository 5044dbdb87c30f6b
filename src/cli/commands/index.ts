import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';

/**
 * Every command module registers its options and a lazy action here. Command modules stay
 * light (commander definitions only) and import their implementation inside the action, so
 * `imgtool --version` does not load undici, tar or arborist.
 */
type Register = (program: Command, rt: CliRuntime) => void;

const registrations: Register[] = [];

/** Adds every command to `program`. */
export function registerCommands(program: Command, rt: CliRuntime): void {
  for (const register of registrations) register(program, rt);
}

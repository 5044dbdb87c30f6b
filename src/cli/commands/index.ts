import type { Command } from 'commander';
import type { CliRuntime } from '../runtime.js';
import { register as registerInfo } from './info.js';
import { register as registerLogin } from './login.js';
import { register as registerLogout } from './logout.js';
import { register as registerPull } from './pull.js';
import { register as registerPush } from './push.js';
import { register as registerTag } from './tag.js';
import { register as registerInit } from './init.js';
import { register as registerPlan } from './plan.js';
import { register as registerHistory } from './history.js';
import { register as registerInspect } from './inspect.js';
import { register as registerBuild } from './build.js';
import { register as registerContext } from './context.js';

/**
 * Every command module registers its options and a lazy action here. Command modules stay
 * light (commander definitions only) and import their implementation inside the action, so
 * `imgtool --version` does not load undici, tar or arborist.
 */
type Register = (program: Command, rt: CliRuntime) => void;

const registrations: Register[] = [registerHistory, registerInspect, registerInfo, registerLogin, registerLogout, registerPull, registerPush, registerTag, registerInit, registerPlan, registerBuild, registerContext];

/** Adds every command to `program`. */
export function registerCommands(program: Command, rt: CliRuntime): void {
  for (const register of registrations) register(program, rt);
}

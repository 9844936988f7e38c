import type { Command } from '../command.js';
import { coordinatorCommands } from './coordinator.js';
import { demo } from './demo.js';
import { keygen } from './keygen.js';

/** Every subcommand, in the order `lgefed --help` lists them. */
export const commands: readonly Command[] = [demo, keygen, ...coordinatorCommands];

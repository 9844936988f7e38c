import type { Command } from '../command.js';

/** Placeholder until the federated demo lands: says so honestly instead of pretending. */
export const demo: Command = {
  name: 'demo',
  summary: 'run the one-command federated study demo (not built yet)',
  usage: 'Usage: lgefed demo\n\nThe federated demo is not built yet; run `lgefed --help` to see what exists.',
  async run() {
    console.log('The one-command federated demo is not built yet. Available today:\n');
    return 0;
  },
};

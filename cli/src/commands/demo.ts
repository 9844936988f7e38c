import type { Command } from '../command.js';
import { DEMO_USAGE, parseDemoArgs } from '../demo/options.js';
import { runDemo } from '../demo/run-demo.js';

/** `lgefed demo`: the whole study as a federation of real processes on this machine (cli/src/demo/). */
export const demo: Command = {
  name: 'demo',
  summary: 'run the study as a local federation (coordinator + 4 site agents): --quick, --chaos, --summary FILE',
  usage: DEMO_USAGE,
  async run(args) {
    const { ok } = await runDemo(parseDemoArgs(args));
    return ok ? 0 : 1;
  },
};

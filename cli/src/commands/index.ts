import type { Command } from '../command.js';
import { adminCommands } from './admin.js';
import { adminSubmit } from './admin-submit.js';
import { coordinatorCommands } from './coordinator.js';
import { dataCommands } from './data.js';
import { demo } from './demo.js';
import { experiment } from './experiment.js';
import { harmoniserCommands } from './harmoniser.js';
import { keygen } from './keygen.js';
import { modelCommands } from './model.js';
import { phantom } from './phantom.js';
import { report, reportVerify } from './report.js';
import { siteCommands } from './site.js';
import { siteReview } from './site-review.js';

/** Every subcommand, in the order `lgefed --help` lists them. */
export const commands: readonly Command[] = [demo, keygen, ...coordinatorCommands, ...dataCommands, phantom, ...siteCommands, siteReview, ...modelCommands, ...harmoniserCommands, experiment, ...adminCommands, adminSubmit, report, reportVerify];

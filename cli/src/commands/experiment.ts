import { parseArgs } from 'node:util';
import { parseBackendRequest } from '@lgefed/shared/engine/index';
import { EXPERIMENT_NAMES, readExperimentConfig, runExperiment, type ExperimentEvent, type ExperimentName } from '@lgefed/shared/experiments/index';
import { UsageError, type Command } from '../command.js';

const BAR_WIDTH = 24;

/** Renders experiment events as a progress bar on a terminal (one redrawn line) or as plain lines otherwise. */
function progressPrinter(stream: NodeJS.WriteStream): (event: ExperimentEvent) => void {
  const tty = stream.isTTY === true;
  let arm = '';
  let lastLine = 0;
  const bar = (done: number, total: number): string => {
    const filled = Math.round((done / Math.max(1, total)) * BAR_WIDTH);
    return `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
  };
  const line = (text: string, final: boolean): void => {
    if (tty) stream.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
    else if (final || Date.now() - lastLine > 5000) {
      stream.write(`${text}\n`);
      lastLine = Date.now();
    }
  };
  return (event) => {
    switch (event.type) {
      case 'arm':
        arm = `arm ${event.index}/${event.total}`;
        line(`${arm} ${event.label}`, true);
        break;
      case 'training':
        line(`${arm} ${bar(event.iteration, event.iterations)} it ${event.iteration}/${event.iterations} loss ${event.loss.toFixed(3)} eta ${Math.round(event.etaSeconds)} s`, event.iteration === event.iterations);
        break;
      case 'testing':
        line(`${arm} testing ${bar(event.done, event.total)} ${event.done}/${event.total} cases`, event.done === event.total);
        break;
      case 'note':
        line(event.message, true);
        break;
    }
  };
}

export const experiment: Command = {
  name: 'experiment',
  summary: 'run a local study experiment (augmentation, harmonisation, finetune, multicentre, transfer, cine): results.json + figures',
  usage: `Usage: lgefed experiment <${EXPERIMENT_NAMES.join('|')}> --config FILE.json --out DIR [--recipe study [--scale S]] [--backend auto|wasm|cpu|tensorflow|tensorflow-gpu]

Runs one experiment of the study on this machine, no federation: the reference the federated jobs
reproduce. The config (JSON) lists the sites (phantom profiles or real folders), the fixed test split
(testCases, splitSeed), the model, training settings and the experiment's own section. Writes
DIR/results.json, the figures as SVG and PNG (fig6-augmentation, fig7-harmonisation,
fig8-finetune-blocks, fig10-data-fraction, fig11-multicentre, fig-cine-arm) and Tables 4 and 5 (CSV, markdown).
--recipe study trains as the paper did: the 6-stage paper U-Net at 256x256, batch 16, 250 epochs at
a constant 1e-3, the paper's augmentation, 20 % of each arm's cases for validation (best epoch
kept), 15 test subjects; --scale 0.1 shortens it to 25 epochs, and every figure says so.`,
  async run(args) {
    let parsed;
    try {
      parsed = parseArgs({ args, options: { config: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' }, recipe: { type: 'string' }, scale: { type: 'string' } }, allowPositionals: true, strict: true });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    const [name, ...rest] = parsed.positionals;
    if (!name || rest.length > 0) throw new UsageError('give exactly one experiment name');
    if (!(EXPERIMENT_NAMES as readonly string[]).includes(name)) throw new UsageError(`unknown experiment '${name}' (expected one of: ${EXPERIMENT_NAMES.join(', ')})`);
    const { config: configFile, out, backend, recipe, scale } = parsed.values;
    if (scale !== undefined && !(Number(scale) > 0)) throw new UsageError(`--scale must be a positive number, got ${scale}`);
    if (!configFile) throw new UsageError('--config is required');
    if (!out) throw new UsageError('--out is required');
    const config = await readExperimentConfig(configFile, name as ExperimentName, { ...(recipe ? { recipe } : {}), ...(scale ? { scale: Number(scale) } : {}) });
    const run = await runExperiment(config, {
      outDir: out,
      ...(backend ? { backend: parseBackendRequest(backend) } : {}),
      onEvent: progressPrinter(process.stderr),
    });
    console.log(`${run.experiment}: ${Math.round(run.seconds)} s; wrote ${out}/results.json, ${run.files.join(', ')}`);
    return 0;
  },
};

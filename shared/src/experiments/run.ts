/**
 * `runExperiment`: loads the sites, applies the fixed test split, runs one experiment and writes
 * `results.json`, its figures (SVG + PNG) and, for fine-tuning, Table 5 (CSV + markdown) to `outDir`.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComputeOptions, DiceRow } from './arms.js';
import { runAugmentationExperiment } from './augmentation.js';
import { parseExperimentConfig, recipeLabel, reportedMulticentreArms, type ExperimentConfig, type ExperimentName } from './config.js';
import type { RunContext } from './context.js';
import { ExperimentError } from './errors.js';
import type { ExperimentListener } from './events.js';
import { armBars, groupedBars, lines, writeFigure } from './figures.js';
import { runFinetuneExperiment, SCRATCH_WITH_SOURCE } from './finetune.js';
import { runHarmonisationExperiment } from './harmonisation.js';
import { runMulticentreExperiment } from './multicentre.js';
import { loadSite, splitOf, type SiteData, type SiteSplit } from './sites.js';
import { fractionTable, multicentreTable, startTable, transferTable } from './table.js';
import { CINE_START, runCineExperiment } from './cine.js';
import { runTransferExperiment, transferArms, type TransferCurveRow, type TransferRow } from './transfer.js';

export interface RunExperimentOptions {
  readonly outDir: string;
  readonly backend?: ComputeOptions['backend'];
  readonly signal?: AbortSignal;
  readonly onEvent?: ExperimentListener;
}

export interface ExperimentRun {
  readonly experiment: ExperimentName;
  readonly config: ExperimentConfig;
  readonly splits: Record<string, SiteSplit>;
  readonly seconds: number;
  /** Files written next to results.json. */
  readonly files: string[];
  readonly results: Record<string, unknown>;
}

/**
 * Reads a JSON config file; `experiment` and `overrides` (from the command line, e.g. recipe and
 * scale) take precedence over the file's fields.
 */
export async function readExperimentConfig(file: string, experiment?: ExperimentName, overrides: Readonly<Record<string, unknown>> = {}): Promise<ExperimentConfig> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new ExperimentError(`cannot read config ${file}: ${(error as Error).message}`);
  }
  return parseExperimentConfig(typeof parsed === 'object' && parsed !== null ? { ...parsed, ...overrides } : parsed, experiment);
}

async function figuresFor(config: ExperimentConfig, results: Record<string, unknown>, outDir: string): Promise<string[]> {
  const files: string[] = [];
  const titled = (title: string) => `${title}${recipeLabel(config.recipe)}`;
  const rows = (key: string) => results[key] as Parameters<typeof groupedBars>[0];
  switch (config.experiment) {
    case 'augmentation':
      files.push(...(await writeFigure(outDir, 'fig6-augmentation', groupedBars(rows('rows'), 'preset', titled('Augmentation: Dice per test site (trained at row site)'), 'trainSite'))));
      break;
    case 'harmonisation': {
      const references = config.harmonisation.referenceSites;
      const toward = references.length === 1 ? references[0]! : 'each reference site (rows)';
      files.push(...(await writeFigure(outDir, 'fig7-harmonisation', groupedBars(rows('rows'), 'method', titled(`Harmonisation toward ${toward}: Dice per test site`), references.length > 1 ? 'referenceSite' : undefined))));
      break;
    }
    case 'finetune': {
      const blockRows = rows('blockRows').filter((r) => r['side'] !== 'pretrained');
      files.push(...(await writeFigure(outDir, 'fig8-finetune-blocks', lines(blockRows, { field: 'blocks', title: 'k trainable blocks' }, 'side', titled('Fine-tuned blocks: encoder vs decoder'), 'testSite'))));
      const withPercent = (r: DiceRow) => ({ ...r, percent: Math.round((r['fraction'] as number) * 100) });
      const fractionRows = rows('fractionRows').filter((r) => r['start'] !== SCRATCH_WITH_SOURCE);
      files.push(...(await writeFigure(outDir, 'fig10-data-fraction', lines(fractionRows.map(withPercent), { field: 'percent', title: 'training cases used (%)' }, 'start', titled('Data fraction: fine-tuned vs from scratch'), 'testSite'))));
      files.push(...(await writeTable(outDir, 'table5-finetune', fractionTable(fractionRows))));
      if (config.finetune.scratchWithSource) {
        const fig9Rows = rows('fractionRows').filter((r) => r['start'] !== 'scratch').map(withPercent);
        files.push(...(await writeFigure(outDir, 'fig9-finetune-vs-multicentre', lines(fig9Rows, { field: 'percent', title: 'target cases used (%)' }, 'start', titled(`Fine-tuned from ${config.finetune.sourceSite} vs scratch on ${config.finetune.sourceSite} + the target's cases`), 'testSite'))));
      }
      break;
    }
    case 'multicentre':
      if (config.multicentre.design === 'progressive') {
        files.push(...(await writeFigure(outDir, 'fig11-multicentre', lines(rows('rows'), { field: 'sitesIncluded', title: 'sites included in training' }, 'testSite', titled(`Progressive inclusion: ${config.multicentre.order.join(' → ')}`)))));
        break;
      }
      files.push(...(await writeFigure(outDir, 'fig11-multicentre-balanced', groupedBars(rows('rows'), 'arm', titled('Balanced multi-centre training (same total of cases): Dice per test site'), 'combination'))));
      files.push(...(await writeTable(outDir, 'table4-multicentre', multicentreTable(rows('rows'), reportedMulticentreArms(config.multicentre)))));
      break;
    case 'transfer': {
      const transfer = results['rows'] as TransferRow[];
      const order = ['pretrained', ...transferArms(config.transfer.encoderBlocks)];
      const patients = (n: number): string => `${n} patient${n > 1 ? 's' : ''}`;
      const labelled = transfer.map((r) => ({ ...r, patients: r.cases === 0 ? 'none (as is)' : patients(r.cases) }));
      files.push(...(await writeFigure(outDir, 'fig10-transfer', armBars(labelled, order, 'patients', titled(`Leave-one-patient-out at ${config.transfer.site}: fine-tuned vs scratch`)))));
      files.push(...(await writeTable(outDir, 'table5-transfer', transferTable(transfer, order))));
      const curves = results['curves'] as TransferCurveRow[] | undefined;
      if (curves) {
        const series = curves.map((r) => ({ ...r, series: `${r.arm}, ${patients(r.cases)}` }));
        files.push(...(await writeFigure(outDir, 'fig10-transfer-curves', lines(series, { field: 'iteration', title: 'training iterations (0 = pretrained)' }, 'series', titled(`Left-out patient's Dice while training at ${config.transfer.site}`)))));
      }
      break;
    }
    case 'cine': {
      const { lgeSource, cohort } = config.cine;
      const starts = [CINE_START, `${lgeSource}-pretrained`, 'scratch'];
      const withPercent = rows('rows').map((r) => ({ ...r, percent: Math.round((r['fraction'] as number) * 100) }));
      files.push(...(await writeFigure(outDir, 'fig-cine-arm', lines(withPercent, { field: 'percent', title: 'target cases used (%; 0 = as pretrained)' }, 'start', titled(`Cine cohort (${cohort.join(' + ')}) vs ${lgeSource} as the start for each LGE site`), 'testSite'))));
      files.push(...(await writeTable(outDir, 'table-cine-arm', startTable(rows('rows'), starts))));
      break;
    }
  }
  return files;
}

/** A table as NAME.csv and NAME.md; returns the file names. */
async function writeTable(outDir: string, name: string, table: { csv: string; markdown: string }): Promise<string[]> {
  await writeFile(join(outDir, `${name}.csv`), table.csv);
  await writeFile(join(outDir, `${name}.md`), table.markdown);
  return [`${name}.csv`, `${name}.md`];
}

export async function runExperiment(config: ExperimentConfig, options: RunExperimentOptions): Promise<ExperimentRun> {
  const started = performance.now();
  const emit: ExperimentListener = options.onEvent ?? (() => undefined);
  await mkdir(options.outDir, { recursive: true });
  const sites = new Map<string, SiteData>();
  for (const source of config.sites) {
    emit({ type: 'note', message: `loading site ${source.name}` });
    sites.set(source.name, await loadSite(source, { dataDir: join(options.outDir, 'data'), testCases: config.testCases, splitSeed: config.splitSeed }));
  }
  const context: RunContext = {
    config,
    sites,
    emit,
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const runners = {
    augmentation: runAugmentationExperiment,
    harmonisation: runHarmonisationExperiment,
    finetune: runFinetuneExperiment,
    multicentre: runMulticentreExperiment,
    transfer: runTransferExperiment,
    cine: runCineExperiment,
  } as const;
  const results = (await runners[config.experiment](context)) as unknown as Record<string, unknown>;
  const files = await figuresFor(config, results, options.outDir);
  const splits = Object.fromEntries([...sites.values()].map((s) => [s.name, splitOf(s)]));
  const run: ExperimentRun = { experiment: config.experiment, config, splits, seconds: (performance.now() - started) / 1000, files, results };
  await writeFile(join(options.outDir, 'results.json'), `${JSON.stringify(run, null, 2)}\n`);
  return run;
}

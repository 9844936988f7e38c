import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import {
  balancedDesign,
  ExperimentError,
  fixedTestSplit,
  paperCombinations,
  recipeLabel,
  trainArm,
  trainFederatedArm,
  weightedAverage,
  parseExperimentConfig,
  runExperiment,
  type DiceRow,
  type ExperimentEvent,
  type ExperimentName,
  type ExperimentRun,
} from '@lgefed/shared/experiments/index';
import { initialWeights, unetSpec } from '@lgefed/shared/model/index';
import { saveModelDirectory } from '@lgefed/shared/workflows/index';
import { tinySpec } from '../model/tiny.js';
import { ringCase } from '../workflows/fixtures.js';
import { relativeError } from '../engine/numeric.js';

/** A miniature study: two phantom vendors, three cases each (one kept for testing), a tiny U-Net. */
const miniature = {
  sites: [
    { name: 'emidec', phantom: { profile: 'emidec', cases: 3, seed: 1 } },
    { name: 'vh', phantom: { profile: 'vh', cases: 3, seed: 2 } },
  ],
  testCases: 1,
  splitSeed: 5,
  model: { preset: 'lite', overrides: { stages: 3, baseFeatures: 4, maxFeatures: 8, inputSize: 64 } },
  training: { iterations: 3, batchSize: 2, seed: 1 },
  augmentation: { presets: ['none', 'paper'] },
  harmonisation: { cyclegan: { preset: 'tiny', iterations: 2, batchSize: 2 } },
  finetune: { blocks: [1, 2], fractions: [0.5, 1], iterations: 2 },
  // A tiny "pretrained" model (written in the test), fine-tuned at the GE-like site with one patient per fold.
  transfer: { site: 'vh', trainCases: [1], encoderBlocks: [1], iterations: 2 },
};

function checkRows(rows: readonly DiceRow[], expected: number): void {
  assert.equal(rows.length, expected);
  for (const row of rows) {
    assert.ok(row.mean >= 0 && row.mean <= 1, `Dice ${row.mean} outside [0, 1]`);
    assert.equal(row.n, 1, 'one test case per site in the miniature');
  }
}

async function checkFigure(directory: string, name: string): Promise<void> {
  const svg = await readFile(join(directory, `${name}.svg`), 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /bloodpool/);
  const png = PNG.sync.read(await readFile(join(directory, `${name}.png`)));
  assert.ok(png.width > 300 && png.height > 150);
}

describe('experiments: config', () => {
  it('fills defaults and names what is wrong with a typed error', () => {
    const config = parseExperimentConfig(miniature, 'augmentation');
    assert.equal(config.training.learningRate, 1e-3);
    assert.deepEqual(config.augmentation.trainSites, ['emidec']);
    assert.deepEqual(config.finetune.targetSites, ['vh']);
    assert.deepEqual(config.multicentre.order, ['emidec', 'vh']);
    assert.equal(config.mirror, false, 'no test-time mirroring unless asked');
    assert.equal(parseExperimentConfig({ ...miniature, mirror: true }, 'augmentation').mirror, true);
    assert.throws(() => parseExperimentConfig({ ...miniature, mirror: 'yes' }, 'augmentation'), /mirror/);
    assert.equal(config.scales, undefined, 'no test-time scale averaging unless asked');
    assert.deepEqual(parseExperimentConfig({ ...miniature, scales: [0.833, 1, 1.167] }, 'augmentation').scales, [0.833, 1, 1.167]);
    assert.throws(() => parseExperimentConfig({ ...miniature, scales: [0, 1] }, 'augmentation'), /scales: scales must be 1 to 8 factors/);
    assert.throws(() => parseExperimentConfig({ ...miniature, scales: ['1'] }, 'augmentation'), /scales\[0\] must be a number/);
    assert.throws(() => parseExperimentConfig({ ...miniature, augmentation: { trainSites: ['nowhere'] } }, 'augmentation'), /not a configured site/);
    assert.throws(() => parseExperimentConfig(miniature, 'federated' as ExperimentName), ExperimentError);
    assert.throws(() => parseExperimentConfig({ ...miniature, sites: [{ name: 'x', phantom: { profile: 'siemens9', cases: 3 } }] }, 'augmentation'), /phantom.profile 'siemens9'/);
    assert.throws(() => parseExperimentConfig({ ...miniature, training: { augmentation: 'heavy' } }, 'multicentre'), /augmentation preset/);
    assert.throws(() => parseExperimentConfig({ ...miniature, finetune: { fractions: [0] } }, 'finetune'), /fraction/);
    // The transfer experiment's fine-tuning rate is its own; absent, fine-tuning uses training's.
    assert.equal(parseExperimentConfig(miniature, 'transfer').transfer.learningRate, undefined);
    assert.equal(parseExperimentConfig({ ...miniature, transfer: { ...miniature.transfer, learningRate: 3e-4 } }, 'transfer').transfer.learningRate, 3e-4);
    assert.throws(() => parseExperimentConfig({ ...miniature, transfer: { ...miniature.transfer, learningRate: -1 } }, 'transfer'), /transfer.learningRate must be a positive number/);
  });

  it("multicentre, balanced (Table 4): the paper's combinations and counts, scaled when a site is small", () => {
    assert.deepEqual(paperCombinations(['emidec', 'mscmr', 'vh', 'x']), [['emidec'], ['emidec', 'mscmr'], ['emidec', 'vh'], ['emidec', 'mscmr', 'vh'], ['emidec', 'mscmr', 'vh', 'x']]);
    assert.deepEqual(paperCombinations(['a', 'b']), [['a'], ['a', 'b']]);
    const big = new Map(['emidec', 'mscmr', 'vh', 'x'].map((s) => [s, 100]));
    const paper = balancedDesign(paperCombinations(['emidec', 'mscmr', 'vh', 'x']), big, 42, 10);
    assert.equal(paper.scale, 1);
    // EMIDEC 42 | 21+21 | 21+21 | 14x3 | 11x4; validation 10 | 5+5 | 5+5 | 3x3 | 3x4 (Table 4).
    assert.deepEqual(paper.combinations.map((c) => [c.trainPerSite, c.validationPerSite]), [[42, 10], [21, 5], [21, 5], [14, 3], [11, 3]]);
    // A 26-case site alone cannot give 42 + 10: everything halves.
    const small = balancedDesign([['a'], ['a', 'b']], new Map([['a', 26], ['b', 100]]), 42, 10);
    assert.equal(small.scale, 0.5);
    assert.deepEqual(small.combinations.map((c) => [c.trainPerSite, c.validationPerSite]), [[21, 5], [11, 3]]);
    const config = parseExperimentConfig({ ...miniature, multicentre: { design: 'balanced' } }, 'multicentre');
    assert.deepEqual(config.multicentre.combinations, [['emidec'], ['emidec', 'vh']]);
    assert.deepEqual(config.multicentre.arms, ['baseline', 'augmentation', 'histogram']);
    assert.throws(() => parseExperimentConfig({ ...miniature, multicentre: { design: 'pooled' } }, 'multicentre'), /design must be progressive or balanced/);
    assert.throws(() => parseExperimentConfig({ ...miniature, multicentre: { combinations: [['emidec', 'emidec']] } }, 'multicentre'), /names a site twice/);
    assert.throws(() => parseExperimentConfig({ ...miniature, multicentre: { arms: ['cyclegan'] } }, 'multicentre'), /not one of baseline, augmentation, histogram/);
  });

  it("recipe study (issue 14): the paper's network and training, scaled and labelled when asked", () => {
    const { model: _model, training: _training, ...sitesOnly } = miniature;
    const study = parseExperimentConfig({ ...sitesOnly, recipe: 'study' }, 'augmentation');
    assert.deepEqual({ stages: study.model.stages, baseFeatures: study.model.baseFeatures, maxFeatures: study.model.maxFeatures, inputSize: study.model.inputSize }, { stages: 6, baseFeatures: 32, maxFeatures: 1024, inputSize: 256 });
    assert.deepEqual([study.training.batchSize, study.training.learningRate, study.training.augmentation, study.training.epochs, study.training.validationFraction], [16, 1e-3, 'paper', 250, 0.2]);
    assert.equal(recipeLabel(study.recipe), ' (study recipe)');
    const scaled = parseExperimentConfig({ ...sitesOnly, recipe: 'study', scale: 0.1 }, 'augmentation');
    assert.equal(scaled.training.epochs, 25);
    assert.equal(recipeLabel(scaled.recipe), ' (study recipe, scaled ×0.1: 25 epochs)');
    assert.equal(parseExperimentConfig(miniature, 'augmentation').recipe.name, 'custom');
    assert.throws(() => parseExperimentConfig({ ...miniature, recipe: 'study' }, 'augmentation'), /the study recipe fixes model, training.batchSize: leave them out, or use recipe custom/);
    assert.throws(() => parseExperimentConfig({ ...sitesOnly, recipe: 'study', scale: 2 }, 'augmentation'), /scale must be in \(0, 1\]/);
    assert.throws(() => parseExperimentConfig({ ...miniature, scale: 0.5 }, 'augmentation'), /scale applies to the study recipe only/);
  });

  it('keeps one seeded test split per site whatever the case order', () => {
    const cases = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => ({ id }));
    const one = fixedTestSplit(cases, 2, 7, 's');
    const two = fixedTestSplit([...cases].reverse(), 2, 7, 's');
    assert.deepEqual(one.test.map((c) => c.id).sort(), two.test.map((c) => c.id).sort());
    assert.equal(one.pool.length, 4);
    assert.ok(one.pool.every((c) => !one.test.includes(c)));
    assert.throws(() => fixedTestSplit(cases, 6, 7, 's'), ExperimentError);
  });
});

describe('experiments: a miniature of each runs end to end', function () {
  this.timeout(600_000);
  let directory: string;
  const runs = new Map<ExperimentName, ExperimentRun>();
  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'lgefed-experiments-'));
  });
  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  async function run(name: ExperimentName, overrides: Record<string, unknown> = {}): Promise<{ out: string; result: ExperimentRun; events: ExperimentEvent[] }> {
    const out = join(directory, name);
    const events: ExperimentEvent[] = [];
    const result = await runExperiment(parseExperimentConfig({ ...miniature, ...overrides }, name), { outDir: out, onEvent: (e) => events.push(e) });
    const written = JSON.parse(await readFile(join(out, 'results.json'), 'utf8')) as ExperimentRun;
    assert.equal(written.experiment, name);
    assert.deepEqual(written.results, JSON.parse(JSON.stringify(result.results)));
    runs.set(name, result);
    return { out, result, events };
  }

  it('augmentation (Fig. 6): every preset tested at every site', async () => {
    const { out, result, events } = await run('augmentation');
    checkRows(result.results['rows'] as DiceRow[], 2 * 2 * 2);
    assert.deepEqual(events.filter((e) => e.type === 'arm').map((e) => (e as { label: string }).label), ['train emidec / none', 'train emidec / paper']);
    assert.ok(events.some((e) => e.type === 'training' && e.iteration === 3));
    await checkFigure(out, 'fig6-augmentation');
  });

  it('harmonisation (Fig. 7): histogram matching brings the test site toward the reference, CycleGAN trained at the site', async () => {
    const { out, result } = await run('harmonisation');
    checkRows(result.results['rows'] as DiceRow[], 3 * 2);
    const distances = result.results['distances'] as { method: string; wasserstein1: number }[];
    const w1 = (method: string) => distances.find((d) => d.method === method)!.wasserstein1;
    assert.ok(w1('histogram') < w1('none'), `W1 none ${w1('none')}, histogram ${w1('histogram')}`);
    assert.equal((result.results['cyclegan'] as unknown[]).length, 1);
    await checkFigure(out, 'fig7-harmonisation');
  });

  it('harmonisation with every site as the reference (Fig. 7 permuted): a model per reference, tested at the others', async () => {
    const out = join(directory, 'harmonisation-every-site');
    const config = parseExperimentConfig({ ...miniature, harmonisation: { referenceSites: ['emidec', 'vh'], methods: ['none', 'histogram'] } }, 'harmonisation');
    const result = await runExperiment(config, { outDir: out });
    const rows = result.results['rows'] as DiceRow[];
    checkRows(rows, 2 * 2 * 2);
    assert.deepEqual([...new Set(rows.map((r) => `${r['referenceSite']} → ${r.testSite}`))], ['emidec → vh', 'vh → emidec']);
    const distances = result.results['distances'] as { referenceSite: string; testSite: string }[];
    assert.deepEqual([...new Set(distances.map((d) => `${d.referenceSite} → ${d.testSite}`))], ['emidec → vh', 'vh → emidec']);
    await checkFigure(out, 'fig7-harmonisation');
    // The older single `referenceSite` still reads.
    assert.deepEqual(parseExperimentConfig({ ...miniature, harmonisation: { referenceSite: 'vh' } }, 'harmonisation').harmonisation.referenceSites, ['vh']);
  });

  it('finetune (Figs. 8, 10, Table 5): encoder vs decoder blocks, data fractions vs scratch', async () => {
    const { out, result } = await run('finetune');
    checkRows(result.results['blockRows'] as DiceRow[], (1 + 2 * 2) * 2);
    const fractionRows = result.results['fractionRows'] as DiceRow[];
    checkRows(fractionRows, 2 * 2 * 2);
    const casesAt = (fraction: number) => fractionRows.find((r) => r['fraction'] === fraction)!['cases'];
    assert.equal(casesAt(0.5), 1);
    assert.equal(casesAt(1), 2);
    await checkFigure(out, 'fig8-finetune-blocks');
    await checkFigure(out, 'fig10-data-fraction');
    const table = await readFile(join(out, 'table5-finetune.md'), 'utf8');
    assert.match(table, /\| vh \| 50 % \| 1 \|/);
    assert.ok((await stat(join(out, 'table5-finetune.csv'))).size > 0);
    await assert.rejects(stat(join(out, 'fig9-finetune-vs-multicentre.svg')), 'Fig. 9 only when asked for');
  });

  it('finetune with Fig. 9: the source model fine-tuned at the target vs scratch on source + target cases', async () => {
    const out = join(directory, 'finetune-fig9');
    const config = parseExperimentConfig({ ...miniature, finetune: { blocks: [1], fractions: [0.5], iterations: 2, scratchWithSource: true } }, 'finetune');
    const events: ExperimentEvent[] = [];
    const result = await runExperiment(config, { outDir: out, onEvent: (e) => events.push(e) });
    const fractionRows = result.results['fractionRows'] as DiceRow[];
    checkRows(fractionRows, 3 * 2);
    assert.deepEqual([...new Set(fractionRows.map((r) => r['start']))], ['finetuned', 'scratch', 'scratch on source + target']);
    // The pooled arm trains on the source's 2 training cases plus the target's 1.
    assert.ok(events.some((e) => e.type === 'arm' && (e as { label: string }).label === 'vh: scratch on emidec + 50 %'));
    await checkFigure(out, 'fig9-finetune-vs-multicentre');
    assert.doesNotMatch(await readFile(join(out, 'table5-finetune.md'), 'utf8'), /source \+ target/, 'Table 5 keeps its two columns');
    assert.throws(() => parseExperimentConfig({ ...miniature, finetune: { scratchWithSource: 'yes' } }, 'finetune'), /scratchWithSource must be true or false/);
  });

  it('multicentre, balanced (Table 4 / Fig. 11): each combination in three arms on the same cases, tested everywhere', async () => {
    const out = join(directory, 'multicentre-balanced');
    const result = await runExperiment(parseExperimentConfig({ ...miniature, multicentre: { design: 'balanced', trainTotal: 2, validationTotal: 0 } }, 'multicentre'), { outDir: out });
    const rows = result.results['rows'] as DiceRow[];
    checkRows(rows, 2 * 3 * 2 * 2);
    assert.deepEqual([...new Set(rows.map((r) => r['combination']))], ['emidec', 'emidec + vh']);
    assert.deepEqual([...new Set(rows.map((r) => r['arm']))], ['baseline', 'augmentation', 'histogram']);
    const design = result.results['design'] as { combinations: { trainPerSite: number }[] };
    assert.deepEqual(design.combinations.map((c) => c.trainPerSite), [2, 1], 'the same total of 2 training cases, split over the sites');
    await checkFigure(out, 'fig11-multicentre-balanced');
    assert.match(await readFile(join(out, 'table4-multicentre.md'), 'utf8'), /\| emidec \+ vh \| vh \| \d\.\d{3} ± /);
  });

  it('multicentre, balanced with FedAvg beside pooling: the same cases per site, never pooled; the table has both', async () => {
    const out = join(directory, 'multicentre-federated');
    const config = parseExperimentConfig({ ...miniature, multicentre: { design: 'balanced', trainTotal: 2, validationTotal: 0, arms: ['augmentation'], federated: { rounds: 2 } } }, 'multicentre');
    const result = await runExperiment(config, { outDir: out });
    const rows = result.results['rows'] as DiceRow[];
    // emidec alone: pooled only (FedAvg over one site is pooling); emidec + vh: pooled and FedAvg.
    checkRows(rows, 3 * 2 * 2);
    assert.deepEqual(
      [...new Set(rows.map((r) => `${r['combination']} / ${r['arm']}`))],
      ['emidec / augmentation', 'emidec + vh / augmentation', 'emidec + vh / augmentation · FedAvg'],
    );
    const table = await readFile(join(out, 'table4-multicentre.md'), 'utf8');
    assert.match(table, /bloodpool augmentation \| bloodpool augmentation · FedAvg/);
    assert.match(table, /\| emidec \+ vh \| vh \| \d\.\d{3} ± \d\.\d{3} \| \d\.\d{3} ± /);
    await checkFigure(out, 'fig11-multicentre-balanced');
    assert.throws(() => parseExperimentConfig({ ...miniature, multicentre: { federated: { rounds: 2 } } }, 'multicentre'), /set multicentre.design to balanced/);
  });

  it('FedAvg: one round is the case-weighted mean of the sites trained alone from the same start', async () => {
    const config = parseExperimentConfig(miniature, 'multicentre');
    const [a, b] = [ringCase('fa', 64, 2), ringCase('fb', 64, 2, 3)];
    const arm = { spec: config.model, training: config.training, augmentation: 'none' as const };
    const federated = await trainFederatedArm({ ...arm, sites: [[a, b], [a]], rounds: 1, iterations: 4 });
    // 4 iterations over one round and two sites: 2 each, from the He start of the training seed.
    const start = initialWeights(config.model, config.training.seed);
    const initial = { spec: config.model, weights: start, id: 'start' };
    const alone = await Promise.all([
      trainArm({ ...arm, cases: [a, b], training: { ...config.training, seed: config.training.seed + 1000 }, iterations: 2, initial }),
      trainArm({ ...arm, cases: [a], training: { ...config.training, seed: config.training.seed + 1001 }, iterations: 2, initial }),
    ]);
    const expected = weightedAverage(alone.map((m) => m.weights), [2, 1]);
    federated.weights.forEach((t, i) => assert.ok(relativeError(t.data, expected[i]!.data) < 1e-6, t.name));
    assert.notDeepEqual(federated.weights[0]!.data, start[0]!.data, 'the sites trained');
    assert.throws(() => weightedAverage([], []), /at least one site/);
  });

  it('cine arm: a cine-cohort start and an LGE start, each as is and fine-tuned on nested fractions, against scratch', async () => {
    const out = join(directory, 'cine');
    const sites = [...miniature.sites, { name: 'cine', phantom: { profile: 'cine', cases: 3, seed: 3 } }];
    const config = parseExperimentConfig({ ...miniature, sites, cine: { fractions: [0.5, 1], iterations: 2 } }, 'cine');
    assert.deepEqual([config.cine.cohort, config.cine.lgeSource, config.cine.targets], [['cine'], 'emidec', ['vh']]);
    const result = await runExperiment(config, { outDir: out });
    const rows = result.results['rows'] as DiceRow[];
    // vh: 2 starts as is, then per fraction 2 fine-tuned starts and scratch; 2 structures.
    checkRows(rows, (2 + 2 * 3) * 2);
    assert.deepEqual([...new Set(rows.map((r) => `${r['start']} @ ${r['fraction']}`))], [
      'cine-pretrained @ 0', 'emidec-pretrained @ 0',
      'cine-pretrained @ 0.5', 'emidec-pretrained @ 0.5', 'scratch @ 0.5',
      'cine-pretrained @ 1', 'emidec-pretrained @ 1', 'scratch @ 1',
    ]);
    await checkFigure(out, 'fig-cine-arm');
    assert.match(await readFile(join(out, 'table-cine-arm.md'), 'utf8'), /\| vh \| as is \| 0 \| \d\.\d{3} ± /);
    assert.throws(() => parseExperimentConfig(miniature, 'cine'), /cine.cohort names no site/);
    assert.throws(() => parseExperimentConfig({ ...miniature, sites, cine: { lgeSource: 'cine' } }, 'cine'), /is in the cine cohort/);
  });

  it('multicentre (Fig. 11): sites included one by one, tested everywhere; every experiment used the same test split', async () => {
    const { out, result } = await run('multicentre');
    const rows = result.results['rows'] as DiceRow[];
    checkRows(rows, 2 * 2 * 2);
    assert.deepEqual([...new Set(rows.map((r) => r['sitesIncluded']))], [1, 2]);
    await checkFigure(out, 'fig11-multicentre');
    const splits = [...runs.values()].map((r) => JSON.stringify(r.splits));
    assert.equal(new Set(splits).size, 1, 'the fixed test split differs between experiments');
  });

  it('transfer (Fig. 10 / Table 5 at a new centre): leave one patient out, the pretrained model as is, fine-tuned and scratch', async () => {
    const pretrained = join(directory, 'tiny-pretrained');
    const spec = unetSpec('lite', miniature.model.overrides);
    await saveModelDirectory(pretrained, spec, initialWeights(spec, 3), { training: { spacing: [1.5, 1.5], augmentation: 'none', iterations: 0, batchSize: 1, learningRate: 1e-3, seed: 3, seconds: 0, backend: 'none', trainCases: [] } });
    const { out, result } = await run('transfer', { transfer: { ...miniature.transfer, pretrained, iterations: 4, earlyStopping: { every: 2, patience: 1 }, curveEvery: 2 } });
    const folds = result.results['folds'] as { fold: string; arm: string; cases: number; trainedOn: string[]; keptIteration: number; dice: number }[];
    const patients = [...new Set(folds.map((f) => f.fold))];
    assert.equal(patients.length, 3, 'every patient is left out once');
    // Per fold: pretrained, encoder 1-1, whole network, scratch; two structures each.
    assert.equal(folds.length, 3 * 4 * 2);
    for (const f of folds) {
      assert.ok(f.dice >= 0 && f.dice <= 1);
      assert.ok(!f.trainedOn.includes(f.fold), `${f.arm} trained on its own test patient ${f.fold}`);
      assert.equal(f.trainedOn.length, f.arm === 'pretrained' ? 0 : 1);
      // Early stopping keeps a checked iteration: 0 (the start), 2 or 4.
      assert.ok(f.arm === 'pretrained' ? f.keptIteration === 0 : [0, 2, 4].includes(f.keptIteration), `${f.arm}: kept iteration ${f.keptIteration}`);
    }
    const rows = result.results['rows'] as { arm: string; n: number }[];
    assert.deepEqual([...new Set(rows.map((r) => r.arm))].sort(), ['encoder 1-1', 'pretrained', 'scratch', 'whole network']);
    assert.ok(rows.every((r) => r.n === 3));
    await checkFigure(out, 'fig10-transfer');
    assert.match(await readFile(join(out, 'table5-transfer.md'), 'utf8'), /\| whole network \| 1 \|/);
    // Learning curves: every trained arm scored on its left-out patient every 2 iterations it ran
    // (early stopping may end a run at 2), the fine-tuned ones also at 0, the pretrained start.
    const points = result.results['curvePoints'] as { fold: string; arm: string; iteration: number; dice: number }[];
    for (const arm of ['encoder 1-1', 'whole network', 'scratch']) {
      for (const fold of patients) {
        const iterations = [...new Set(points.filter((p) => p.arm === arm && p.fold === fold).map((p) => p.iteration))];
        const expected = arm === 'scratch' ? [2] : [0, 2];
        assert.deepEqual(iterations.slice(0, expected.length), expected, `${arm}, ${fold}: curve at ${iterations}`);
      }
    }
    const asIs = folds.find((f) => f.arm === 'pretrained')!;
    assert.equal(points.find((p) => p.arm === 'encoder 1-1' && p.fold === asIs.fold && p.iteration === 0)!.dice, asIs.dice, 'iteration 0 is the pretrained score');
    await checkFigure(out, 'fig10-transfer-curves');
  });
});

describe("experiments: an arm trained by the study recipe's rules", function () {
  this.timeout(120_000);

  it('trains epochs over its slices and keeps the best epoch on a seeded fifth of its cases', async () => {
    const cases = ['a', 'b', 'c', 'd', 'e'].map((id, i) => ringCase(id, 24, 2, i - 2));
    const training = { iterations: 999, batchSize: 2, learningRate: 1e-2, seed: 3, augmentation: 'none', spacing: [1, 1] as const, epochs: 3, validationFraction: 0.2 };
    const model = await trainArm({ spec: tinySpec, cases, training }, { backend: 'wasm' });
    const record = model.training!;
    // One of five cases (2 slices) kept apart; 4 cases x 2 slices = 8 slices = 4 batches per epoch.
    assert.equal(record.earlyStopping!.heldOutSlices, 2);
    assert.equal(record.earlyStopping!.every, 4, 'checked once per epoch');
    assert.equal(record.earlyStopping!.stoppedEarly, false, 'the whole schedule trains');
    assert.equal(record.iterations, 3 * 4);
  });
});

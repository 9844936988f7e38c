/** Fig. 6: train at a site with each augmentation preset, test at every site (in- and out-of-distribution). */
import { diceRows, scoreArm, trainArm, type DiceRow } from './arms.js';
import { ArmCounter, site, type RunContext } from './context.js';

export interface AugmentationResults {
  readonly rows: DiceRow[];
}

export async function runAugmentationExperiment(context: RunContext): Promise<AugmentationResults> {
  const { config } = context;
  const { presets, trainSites } = config.augmentation;
  const counter = new ArmCounter(context, presets.length * trainSites.length);
  const rows: DiceRow[] = [];
  for (const trainSite of trainSites) {
    for (const preset of presets) {
      const compute = counter.next(`train ${trainSite} / ${preset}`);
      const model = await trainArm({ spec: config.model, cases: site(context, trainSite).pool, training: config.training, augmentation: preset }, compute);
      for (const testSite of context.sites.values()) {
        rows.push(...diceRows({ trainSite, preset }, testSite.name, await scoreArm(model, testSite.test, undefined, compute)));
      }
    }
  }
  return { rows };
}

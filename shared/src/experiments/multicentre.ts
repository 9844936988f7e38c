/**
 * Fig. 11 / Table 4: how much does training on more centres help? `progressive` pools the sites one
 * at a time (the total grows with each site); `balanced` is the paper's design, where the total is
 * fixed (42 training + 10 validation cases, split evenly over the combination's sites) so that more
 * centres is not confounded with more data, in three arms: no augmentation, the paper's
 * augmentation, histogram matching; with `federated`, each arm of a multi-site combination is also
 * trained by FedAvg over the same cases (experiments/fedavg.ts), the data never pooled. Every model
 * is tested on every site's fixed test split.
 */
import { selectCases } from '../workflows/split.js';
import { cohortProfile, intensityHarmonisation } from '../workflows/harmonise.js';
import type { ImageTransform } from '../workflows/evaluate.js';
import type { Case } from '../types.js';
import { diceRows, scoreArm, trainArm, type DiceRow } from './arms.js';
import { ArmCounter, site, type RunContext } from './context.js';
import { ExperimentError } from './errors.js';
import { federatedArmLabel } from './config.js';
import { trainFederatedArm } from './fedavg.js';

export interface MulticentreResults {
  readonly rows: DiceRow[];
  /** Balanced design only: the cases each combination drew from each of its sites. */
  readonly design?: BalancedDesign;
}

export interface BalancedDesign {
  /** Fraction of the configured totals used: below 1 when a site has too few cases for them. */
  readonly scale: number;
  readonly combinations: { readonly name: string; readonly sites: readonly string[]; readonly trainPerSite: number; readonly validationPerSite: number }[];
}

export async function runMulticentreExperiment(context: RunContext): Promise<MulticentreResults> {
  return context.config.multicentre.design === 'balanced' ? runBalanced(context) : runProgressive(context);
}

async function runProgressive(context: RunContext): Promise<MulticentreResults> {
  const { config } = context;
  const { order } = config.multicentre;
  const counter = new ArmCounter(context, order.length);
  const rows: DiceRow[] = [];
  for (let n = 1; n <= order.length; n++) {
    const included = order.slice(0, n);
    const compute = counter.next(`train on ${included.join(' + ')}`);
    const model = await trainArm({ spec: config.model, cases: included.flatMap((name) => site(context, name).pool), training: config.training }, compute);
    for (const testSite of context.sites.values()) {
      rows.push(...diceRows({ sitesIncluded: n, added: order[n - 1]! }, testSite.name, await scoreArm(model, testSite.test, undefined, compute)));
    }
  }
  return { rows };
}

/**
 * Per-site counts of each combination: the totals split evenly (rounded, as the paper's 11 x 4),
 * everything scaled by one factor when some site's pool cannot give its share.
 */
export function balancedDesign(combinations: readonly (readonly string[])[], poolSizes: ReadonlyMap<string, number>, trainTotal: number, validationTotal: number): BalancedDesign {
  const pool = (name: string) => poolSizes.get(name) ?? 0;
  const scale = Math.min(1, ...combinations.flatMap((combo) => combo.map((name) => pool(name) / ((trainTotal + validationTotal) / combo.length))));
  const train = Math.floor(trainTotal * scale);
  const validation = Math.floor(validationTotal * scale);
  return {
    scale,
    combinations: combinations.map((combo) => {
      let trainPerSite = Math.max(1, Math.round(train / combo.length));
      let validationPerSite = Math.round(validation / combo.length);
      const smallest = Math.min(...combo.map(pool));
      // Rounding up (42 / 4 = 10.5 -> 11) may ask one case more than the smallest pool holds.
      while (trainPerSite + validationPerSite > smallest && (validationPerSite > 0 || trainPerSite > 1)) {
        if (validationPerSite > 0) validationPerSite--;
        else trainPerSite--;
      }
      if (trainPerSite + validationPerSite > smallest) throw new ExperimentError(`combination ${combo.join(' + ')}: a site has no case to train on`);
      return { name: combo.join(' + '), sites: [...combo], trainPerSite, validationPerSite };
    }),
  };
}

async function runBalanced(context: RunContext): Promise<MulticentreResults> {
  const { config } = context;
  const { combinations, trainTotal, validationTotal, arms, validation, order, federated } = config.multicentre;
  const sites = new Map([...new Set(combinations.flat())].map((name) => [name, site(context, name)]));
  const design = balancedDesign(combinations, new Map([...sites].map(([name, s]) => [name, s.pool.length])), trainTotal, validationTotal);
  // One seeded order per site: a combination takes its first cases to train and the next to validate,
  // so smaller shares are subsets of larger ones and every arm sees the same cases.
  const ordered = new Map([...sites].map(([name, s]) => [name, selectCases(s.pool, { count: s.pool.length }, config.splitSeed)]));
  // Histogram matching maps every image, training and test, to the first site's intensity profile.
  const reference = cohortProfile(site(context, order[0]!).pool);
  const matched = intensityHarmonisation('histogram', reference);
  const federatedCombinations = federated ? design.combinations.filter((c) => c.sites.length > 1).length : 0;
  const counter = new ArmCounter(context, (design.combinations.length + federatedCombinations) * arms.length);
  const rows: DiceRow[] = [];
  for (const combination of design.combinations) {
    const drawn = combination.sites.map((name) => ordered.get(name)!);
    const trainCases = drawn.flatMap((cases) => cases.slice(0, combination.trainPerSite));
    const validationCases = drawn.flatMap((cases) => cases.slice(combination.trainPerSite, combination.trainPerSite + combination.validationPerSite));
    for (const arm of arms) {
      const compute = counter.next(`${combination.name} / ${arm}`);
      const transform = arm === 'histogram' ? matched : undefined;
      const model = await trainArm(
        {
          spec: config.model,
          cases: await transformed(trainCases, transform),
          training: config.training,
          augmentation: arm === 'augmentation' ? 'paper' : 'none',
          validation: { cases: await transformed(validationCases, transform), ...validation },
        },
        compute,
      );
      for (const testSite of context.sites.values()) {
        rows.push(...diceRows({ combination: combination.name, centres: combination.sites.length, arm }, testSite.name, await scoreArm(model, testSite.test, transform, compute)));
      }
      if (!federated || combination.sites.length < 2) continue;
      const label = federatedArmLabel(arm);
      const federatedCompute = counter.next(`${combination.name} / ${label}`);
      const federatedModel = await trainFederatedArm(
        {
          spec: config.model,
          sites: await Promise.all(drawn.map((cases) => transformed(cases.slice(0, combination.trainPerSite), transform))),
          rounds: federated.rounds,
          training: config.training,
          augmentation: arm === 'augmentation' ? 'paper' : 'none',
        },
        federatedCompute,
      );
      for (const testSite of context.sites.values()) {
        rows.push(...diceRows({ combination: combination.name, centres: combination.sites.length, arm: label }, testSite.name, await scoreArm(federatedModel, testSite.test, transform, federatedCompute)));
      }
    }
  }
  return { rows, design };
}

/** Cases with their images passed through `transform` (labels untouched). */
async function transformed(cases: readonly Case[], transform: ImageTransform | undefined): Promise<Case[]> {
  if (!transform) return [...cases];
  const out: Case[] = [];
  for (const c of cases) out.push({ ...c, image: await transform(c.image, c) });
  return out;
}

/**
 * The study's cine arm: is a large cine cohort (bright blood, grey myocardium, no scar) a better
 * start for an LGE site than another hospital's LGE? One model is pretrained on the pooled cine
 * cohort, one on the LGE source site; each is scored at every target LGE site as it is and
 * fine-tuned there on growing, nested fractions of the target's cases, next to a model trained from
 * scratch on the same cases.
 */
import { selectCases } from '../workflows/split.js';
import { diceRows, scoreArm, trainArm, type DiceRow } from './arms.js';
import { ArmCounter, computeFor, site, type RunContext } from './context.js';
import { finetuned } from './finetune.js';

export interface CineResults {
  /** Factors: start (`cine-pretrained`, `<source>-pretrained`, `scratch`), fraction (0 = as pretrained) and cases used. */
  readonly rows: DiceRow[];
}

export const CINE_START = 'cine-pretrained';

export async function runCineExperiment(context: RunContext): Promise<CineResults> {
  const { config } = context;
  const { cohort, lgeSource, targets, fractions, freeze, iterations } = config.cine;
  const lgeStart = `${lgeSource}-pretrained`;
  const counter = new ArmCounter(context, 2 + targets.length * 3 * fractions.length);
  const cohortCases = cohort.flatMap((name) => site(context, name).pool);
  const starts = [
    { name: CINE_START, model: await trainArm({ spec: config.model, cases: cohortCases, training: config.training }, counter.next(`pretrain on the cine cohort (${cohort.join(' + ')})`)) },
    { name: lgeStart, model: await trainArm({ spec: config.model, cases: site(context, lgeSource).pool, training: config.training }, counter.next(`pretrain on ${lgeSource}`)) },
  ];
  const rows: DiceRow[] = [];
  for (const name of targets) {
    const target = site(context, name);
    const score = async (model: Parameters<typeof scoreArm>[0], factors: Record<string, string | number>, label: string) =>
      rows.push(...diceRows(factors, name, await scoreArm(model, target.test, undefined, computeFor(context, label))));
    for (const start of starts) await score(start.model, { start: start.name, fraction: 0, cases: 0 }, `${name}: ${start.name} as is`);
    for (const fraction of fractions) {
      // Nested, seeded subsets: every start trains on the same cases.
      const cases = selectCases(target.pool, { fraction }, config.splitSeed);
      const percent = Math.round(fraction * 100);
      for (const start of starts) {
        const label = `${name}: ${start.name} fine-tuned on ${percent} % (${cases.length} cases)`;
        await score(await finetuned(context, start.model, cases, freeze, counter.next(label), iterations), { start: start.name, fraction, cases: cases.length }, label);
      }
      const label = `${name}: scratch on ${percent} %`;
      await score(await trainArm({ spec: config.model, cases, training: config.training }, counter.next(label)), { start: 'scratch', fraction, cases: cases.length }, label);
    }
  }
  return { rows };
}

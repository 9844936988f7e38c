/** Fig. 11: sites included one at a time (pooled training), each model tested at every site. */
import { diceRows, scoreArm, trainArm, type DiceRow } from './arms.js';
import { ArmCounter, site, type RunContext } from './context.js';

export interface MulticentreResults {
  readonly rows: DiceRow[];
}

export async function runMulticentreExperiment(context: RunContext): Promise<MulticentreResults> {
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

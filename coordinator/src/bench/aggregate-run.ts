/**
 * Child process for the aggregation benchmark, so its peak RSS is the aggregation's alone:
 * `aggregate-run.js STORE_DIR STRATEGY HASH:CASES...` streams the aggregate of the stored site
 * updates into the model store exactly as a FedAvg round does, and prints one JSON line.
 */
import { readFileSync } from 'node:fs';
import { createStrategy, storedUpdate, type AggregationSpec } from '../aggregation/index.js';
import { ModelStore } from '../model-store.js';
import { openAll, storeAggregate } from '../workflow/models.js';
import type { WorkflowContext } from '../workflow/workflow.js';

/** Peak resident memory of this process image (VmHWM): unlike getrusage's maxrss it does not inherit the parent's. */
const peakRssMB = () => (Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"))![1]) * 1024) / 1e6;

const [dir, strategy, ...updates] = process.argv.slice(2);
const baselineRss = process.memoryUsage().rss;
const models = new ModelStore(dir!);
const sites = updates.map((u) => {
  const [hash, cases] = u.split(':');
  return { hash: hash!, cases: Number(cases) };
});
const ctx = { models, registerModel: () => undefined } as unknown as WorkflowContext;

const start = process.hrtime.bigint();
const cpuStart = process.cpuUsage();
const readers = await openAll(sites.map((s) => s.hash), ctx);
const result = await storeAggregate(
  readers[0]!.header,
  createStrategy({ strategy } as AggregationSpec),
  readers.map((r, i) => storedUpdate(`site${i}`, sites[i]!.cases, r)),
  'bench',
  ctx,
);
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const cpu = process.cpuUsage(cpuStart);
await Promise.all(readers.map((r) => r.close()));
console.log(JSON.stringify({ result, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, baselineRssMB: baselineRss / 1e6, peakRssMB: peakRssMB() }));

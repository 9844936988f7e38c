/**
 * `npm run bench:federation`: coordinator round overhead with 1, 10 and 100 simulated agents
 * (metrics-only tasks, real JobEngine + SQLite store, in-process transport), distribution of the
 * 31 M-parameter U-Net to 4 agents over loopback (@lgefed/protocol chunks over socket.io, against
 * raw TCP; the agents' process with 4 KiB pages, then with huge pages; medians of rounds), and streaming aggregation
 * throughput and peak RSS by model size (against Flower's in-memory numpy FedAvg; interleaved
 * rounds, --rounds N, default 3). Prints tables, then one JSON line of every figure.
 */
import { HUGE_PAGE_TUNABLE } from '@lgefed/protocol';
import { medianRun } from '@lgefed/protocol/bench/rounds';
import { interleavedJson, roundsFlag, warnIfNotQuiet } from '@lgefed/shared/bench/interleaved';
import { measureAggregation, type AggregationFigures } from './aggregation.js';
import { measureDistribution, type AgentProcesses, type DistributionFigures } from './distribution.js';
import { measureRoundOverhead, type RoundOverhead } from './round-overhead.js';

const fmt = (v: number, digits = 1) => v.toFixed(digits);
const table = (header: string[], rows: (string | number)[][]) => {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  for (const r of cells) console.log(r.map((c, i) => c.padStart(widths[i]!)).join('  '));
  console.log();
};

const rounds: RoundOverhead[] = [];
for (const [agents, count] of [[1, 30], [10, 20], [100, 10]] as const) rounds.push(await measureRoundOverhead(agents, count));
console.log('Round overhead (evaluate rounds, metrics only; in-process transport, real JobEngine + SQLite + audit log)');
table(['agents', 'rounds', 'median ms/round', 'p95 ms/round', 'ms per site result', 'vs 1 agent'], rounds.map((r) => [r.agents, r.rounds, fmt(r.medianRoundMs, 2), fmt(r.p95RoundMs, 2), fmt(r.perTaskMs, 3), `${fmt(r.medianRoundMs / rounds[0]!.medianRoundMs, 1)}x`]));

// Rounds in turn: the agents in one process with 4 KiB then huge pages, then in a process each with huge
// pages (as sites run them); each configuration reports its median run by socket.io speed (a run swings
// with how fast this VM's host backs memory never touched before).
const DISTRIBUTION_CONFIGS: readonly [boolean, AgentProcesses][] = [
  [false, 'shared'],
  [true, 'shared'],
  [true, 'own'],
];
const distributionRuns: DistributionFigures[][] = DISTRIBUTION_CONFIGS.map(() => []);
for (let round = 0; round < roundsFlag(); round++) {
  for (const [i, [hugePages, processes]] of DISTRIBUTION_CONFIGS.entries()) distributionRuns[i]!.push(await measureDistribution(4, hugePages, processes));
}
const distributions = distributionRuns.map((runs) => medianRun(runs, (d) => d.socketIoMBps));
const [pages4k, pagesHuge] = distributions as [DistributionFigures, DistributionFigures, DistributionFigures];
const layoutOf = (d: DistributionFigures) => `${d.hugePages ? 'huge' : '4 KiB'} pages, ${d.agentProcesses === 'shared' ? 'one process' : 'a process each'}`;
console.log(
  `Model distribution: ${pages4k.parameters} parameters (${fmt(pages4k.modelMB)} MB float32) to ${pages4k.agents} agents at once, loopback, ${pages4k.chunkKiB} KiB chunks; the agents in one process with 4 KiB pages (glibc's default), then with huge pages (GLIBC_TUNABLES=${HUGE_PAGE_TUNABLE}, as lgefed starts its processes), then in a process each with huge pages (as sites run); ` +
    `the median of ${distributionRuns[0]!.length} round(s) each (socket.io MB/s by round: ${distributions.map((d, i) => `${layoutOf(d)} ${distributionRuns[i]!.map((r) => fmt(r.socketIoMBps, 0)).join(' / ')}`).join('; ')})`,
);
table(
  ['path', 'agents', 'MB/s (all agents)', 'MB/s per agent', 'vs raw TCP', 'vs raw TCP keeping the model'],
  distributions.flatMap((d) => {
    const layout = layoutOf(d);
    return [
      ['protocol chunks over socket.io', layout, fmt(d.socketIoMBps), fmt(d.socketIoMBps / d.agents), fmt(d.socketIoMBps / d.rawTcpMBps, 2), fmt(d.socketIoMBps / d.rawTcpStoreMBps, 2)],
      ['peer: raw TCP, no framing/hashing', layout, fmt(d.rawTcpMBps), fmt(d.rawTcpMBps / d.agents), '1.00', '-'],
      ['raw TCP, each agent keeping the model in new memory', layout, fmt(d.rawTcpStoreMBps), fmt(d.rawTcpStoreMBps / d.agents), fmt(d.rawTcpStoreMBps / d.rawTcpMBps, 2), '1.00'],
    ];
  }),
);
console.log(
  `Huge pages: socket.io ${fmt(pagesHuge.socketIoMBps / pages4k.socketIoMBps, 2)}x its speed with 4 KiB pages. ` +
    'Writing a model into memory the process has not touched before costs a page fault per page, which on some virtual machines costs more than the copy itself.\n',
);
for (const d of distributions) {
  const { seconds, senderCpuSeconds, agentsCpuSeconds } = d.socketIo;
  console.log(
    `Where the socket.io transfer's ${fmt(seconds, 2)} s went (${layoutOf(d)}): sender (coordinator) ${fmt(senderCpuSeconds, 2)} CPU-s, the ${d.agents} agents' ` +
      `process(es) ${fmt(agentsCpuSeconds, 2)} CPU-s from start to exit (reassembly into new memory, SHA-256 per chunk, socket.io framing); a side near ${fmt(seconds, 2)} CPU-s per core it can use is the bound.`,
  );
}
console.log();

const aggregation: AggregationFigures[] = [];
for (const parameters of [1_000_000, 8_000_000, 31_102_895]) aggregation.push(await measureAggregation(parameters, 4, roundsFlag()));
console.log('FedAvg aggregation of 4 site updates from the model store (fresh process each, ours and peer in turn, medians; peer = Flower aggregate() on numpy)');
const spreadOf = (a: AggregationFigures, side: string) => `${fmt((a.rounds.sides[side]?.spread['mb_per_s'] ?? NaN) * 100, 0)}%`;
const cpuRate = (a: AggregationFigures, side: string) => fmt(a.rounds.sides[side]?.median['mb_per_cpu_s'] ?? NaN);
table(
  ['parameters', 'model MB', 'stream MB/s', 'spread', 'MB/CPU-s', 'stream peak RSS MB', 'peer MB/s', 'spread', 'MB/CPU-s', 'peer peak RSS MB', 'speed vs peer', 'RSS vs peer'],
  aggregation.map((a) => [a.parameters, fmt(a.modelMB), fmt(a.streamingMBps), spreadOf(a, 'streaming'), cpuRate(a, 'streaming'), fmt(a.streamingPeakRssMB), fmt(a.peerMBps), spreadOf(a, 'flower'), cpuRate(a, 'flower'), fmt(a.peerPeakRssMB), fmt(a.streamingMBps / a.peerMBps, 2), fmt(a.streamingPeakRssMB / a.peerPeakRssMB, 2)]),
);
for (const a of aggregation) {
  for (const [side, message] of Object.entries(a.rounds.failed)) console.log(`${a.parameters} parameters: ${side} failed: ${message}`);
  warnIfNotQuiet(`FedAvg aggregation, ${a.parameters} parameters`, a.rounds);
}

console.log(
  JSON.stringify({
    bench: 'federation',
    transport: 'in-process',
    quiet: aggregation.every((a) => a.rounds.quiet),
    roundOverhead: rounds,
    distribution: distributions,
    distributionRounds: distributionRuns,
    aggregation: aggregation.map((a) => ({ ...a, rounds: interleavedJson(a.rounds) })),
  }),
);

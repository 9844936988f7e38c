import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { runInterleaved, type Interleaved } from '@lgefed/shared/bench/interleaved';
import { ModelStore } from '../model-store.js';
import { dataOffset, encodeWeightsPrefix, parameterCount } from '@lgefed/protocol/weights-file';
import { fillParameters, unetLayout } from './model-fixture.js';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./aggregate-run.js', import.meta.url));
/** The peer lives with the sources (it is not compiled); dist/bench → src/bench. */
const PEER = fileURLToPath(new URL('../../src/bench/flower_style_aggregate.py', import.meta.url));

export interface AggregationFigures {
  readonly parameters: number;
  readonly modelMB: number;
  readonly sites: number;
  /** Medians of interleaved rounds. Site weights read per second (sites × model bytes / time), streaming FedAvg from the model store into it. */
  readonly streamingMBps: number;
  readonly streamingPeakRssMB: number;
  readonly streamingBaselineRssMB: number;
  /** The peer: Flower's in-memory FedAvg on numpy arrays, same files. */
  readonly peerMBps: number;
  readonly peerPeakRssMB: number;
  readonly rounds: Interleaved;
}

interface ChildFigures {
  seconds: number;
  cpuSeconds: number;
  peakRssMB: number;
}

/** Stores `sites` updates of a `parameters`-sized U-Net prefix, then aggregates them in fresh processes, ours and the peer in turn. */
export async function measureAggregation(parameters: number, sites: number, rounds: number): Promise<AggregationFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'lgefed-bench-agg-'));
  try {
    const store = new ModelStore(join(dir, 'models'));
    await store.init();
    const header = unetLayout(parameters);
    const count = parameterCount(header);
    const values = new Float32Array(count);
    const hashes: string[] = [];
    for (let s = 0; s < sites; s++) {
      const writer = await store.createWriter();
      await writer.write(encodeWeightsPrefix(header));
      fillParameters(values, s);
      await writer.write(new Uint8Array(values.buffer));
      hashes.push(await writer.commit());
    }
    const cases = hashes.map((h, s) => `${h}:${10 + s}`);
    const peerArgs = hashes.map((h, s) => `${store.path(h)}:${dataOffset(header)}:${count}:${10 + s}`);
    const inputMB = (sites * count * 4) / 1e6;
    // Each child reports its own CPU time over the span it times.
    const side = (command: string, args: string[]) => async () => {
      const r = JSON.parse((await run(command, args, { maxBuffer: 1 << 20 })).stdout) as ChildFigures & { baselineRssMB?: number };
      const figures = { mb_per_s: inputMB / r.seconds, peak_rss_mb: r.peakRssMB, ...(r.baselineRssMB === undefined ? {} : { baseline_rss_mb: r.baselineRssMB }) };
      return { figures, cpuSeconds: r.cpuSeconds, work: inputMB };
    };
    const measured = await runInterleaved(
      { streaming: side(process.execPath, [CHILD, store.dir, 'fedavg', ...cases]), flower: side('python3', [PEER, join(dir, 'peer-out.f32'), ...peerArgs]) },
      { rounds, unit: 'mb' },
    );
    const ours = measured.sides['streaming']?.median;
    const peer = measured.sides['flower']?.median;
    return {
      parameters: count,
      modelMB: (count * 4) / 1e6,
      sites,
      streamingMBps: ours?.['mb_per_s'] ?? NaN,
      streamingPeakRssMB: ours?.['peak_rss_mb'] ?? NaN,
      streamingBaselineRssMB: ours?.['baseline_rss_mb'] ?? NaN,
      peerMBps: peer?.['mb_per_s'] ?? NaN,
      peerPeakRssMB: peer?.['peak_rss_mb'] ?? NaN,
      rounds: measured,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

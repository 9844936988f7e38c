import assert from 'node:assert/strict';
import { runInterleaved, type Round } from '@lgefed/shared/bench/interleaved';
import { roundRows, roundsFigureSpec } from '@lgefed/shared/bench/rounds-figure';
import { renderSvg } from '@lgefed/shared/plots/render';

const round = (figures: Record<string, number>): Round => ({ figures, cpuSeconds: 2, work: 10 });

describe('bench: figure of interleaved rounds', () => {
  it('gives every side its value in every round, in order, per figure, leaving out figures a side lacks', async () => {
    const ours = [round({ train: 10, infer: 40 }), round({ train: 12, infer: 41 })];
    const peer = [round({ train: 15, infer: 90 }), round({ train: 18, infer: 60 })];
    const onnx = [round({ infer: 170 }), round({ infer: 180 })];
    const result = await runInterleaved(
      { ours: async () => ours.shift()!, peer: async () => peer.shift()!, onnx: async () => onnx.shift()! },
      { rounds: 2, load: () => 0, otherBusy: async () => 0, cores: 2 },
    );
    const rows = roundRows('lite', result, ['train', 'infer']);
    const line = (series: string, metric: string) => rows.filter((r) => r.series === series && r.metric === metric).map((r) => [r.step, r.value]);
    assert.deepEqual(line('ours', 'lite train'), [[1, 10], [2, 12]]);
    assert.deepEqual(line('peer', 'lite infer'), [[1, 90], [2, 60]]);
    assert.deepEqual(line('onnx', 'lite infer'), [[1, 170], [2, 180]]);
    assert.deepEqual(line('onnx', 'lite train'), [], 'a side without the figure draws no line');
    assert.equal(rows.length, 10);
  });

  it('renders one panel per figure with a line per side', async () => {
    const result = await runInterleaved({ ours: async () => round({ train: 10 }), peer: async () => round({ train: 15 }) }, { rounds: 3, load: () => 0, otherBusy: async () => 0, cores: 2 });
    const svg = await renderSvg(roundsFigureSpec(roundRows('paper', result, ['train']), 'rounds'));
    assert.match(svg, /paper train/);
    assert.match(svg, /ours/);
    assert.match(svg, /peer/);
  });
});

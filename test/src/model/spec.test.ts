import assert from 'node:assert/strict';
import {
  deepSupervisionWeights,
  FreezeError,
  initialWeights,
  checkWeights,
  ModelSpecError,
  parameterCount,
  PRESETS,
  stageFeatures,
  trainableBlocks,
  trainableParameters,
  unetSpec,
  validateSpec,
  WeightsError,
} from '@lgefed/shared/model/index';

describe('model: U-Net spec, parameters and freezing', () => {
  it('describes the paper and lite presets as data', () => {
    assert.deepEqual(stageFeatures(PRESETS.paper), [32, 64, 128, 256, 512, 1024]);
    assert.equal(PRESETS.paper.inputSize, 256);
    assert.deepEqual(stageFeatures(PRESETS.lite), [16, 32, 64, 128, 256]);
    assert.equal(PRESETS.lite.inputSize, 128);
    // PyTorch peer (bench/torch_unet.py) has 31.2 M parameters for paper; ours drops the conv biases
    // that instance norm cancels.
    assert.ok(Math.abs(parameterCount(PRESETS.paper) - 31.2e6) < 0.1e6, `${parameterCount(PRESETS.paper)}`);
  });

  it('rejects specs it cannot build, with a typed error', () => {
    assert.throws(() => unetSpec('lite', { inputSize: 100 }), ModelSpecError);
    assert.throws(() => unetSpec('lite', { stages: 1 }), ModelSpecError);
    assert.throws(() => validateSpec({ ...PRESETS.lite, baseFeatures: 2.5 }), ModelSpecError);
    assert.throws(() => validateSpec({ ...PRESETS.lite, architecture: 'resnet' }), ModelSpecError);
    assert.throws(() => validateSpec(null), ModelSpecError);
    assert.deepEqual(unetSpec('lite', { inputSize: 64, stages: 4 }).stages, 4);
  });

  it('weights deep supervision 1/2^level, drops the lowest level and normalises', () => {
    const w = deepSupervisionWeights(PRESETS.lite);
    const raw = [1, 0.5, 0.25, 0];
    const sum = 1.75;
    w.forEach((v, i) => assert.ok(Math.abs(v - raw[i]! / sum) < 1e-12));
    assert.deepEqual(deepSupervisionWeights(unetSpec('lite', { stages: 2 })), [1]);
  });

  it('initialises He-normal weights reproducibly from a seed', () => {
    const spec = unetSpec('lite', { inputSize: 32 });
    const a = initialWeights(spec, 7);
    const b = initialWeights(spec, 7);
    const c = initialWeights(spec, 8);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a[0]!.data, c[0]!.data);
    const conv = a.find((t) => t.name === 'enc1.conv2.weight')!; // fan-in 9 * 32
    const std = Math.sqrt(conv.data.reduce((s, v) => s + v * v, 0) / conv.data.length);
    assert.ok(Math.abs(std - Math.sqrt(2 / (1.0001 * 288))) < 0.005, `std ${std}`);
    assert.ok(a.find((t) => t.name === 'dec0.conv1.norm.gamma')!.data.every((v) => v === 1));
  });

  it('refuses weights that do not match the spec', () => {
    const weights = initialWeights(PRESETS.lite, 1);
    assert.throws(() => checkWeights(PRESETS.lite, weights.slice(1)), WeightsError);
    assert.throws(() => checkWeights(PRESETS.lite, [...weights, { name: 'extra', shape: [1], data: new Float32Array(1) }]), WeightsError);
    const reshaped = weights.map((t, i) => (i === 0 ? { ...t, shape: [3, 3, 2, 8] } : t));
    assert.throws(() => checkWeights(PRESETS.lite, reshaped), /shape/);
  });

  it('trains the first k encoder blocks and the last m decoder blocks', () => {
    const spec = PRESETS.paper;
    assert.deepEqual([...trainableBlocks(spec, { trainEncoderBlocks: 5 })], ['enc0', 'enc1', 'enc2', 'enc3', 'enc4']);
    assert.deepEqual([...trainableBlocks(spec, { trainDecoderBlocks: 2 })], ['dec3', 'dec4']);
    assert.equal(trainableBlocks(spec).size, 11);
    const names = trainableParameters(spec, { trainEncoderBlocks: 1, trainDecoderBlocks: 1 });
    assert.ok(names.every((n) => n.startsWith('enc0.') || n.startsWith('dec4.')));
    assert.ok(names.includes('dec4.head.weight') && names.includes('enc0.conv1.weight'));
    assert.throws(() => trainableBlocks(spec, { trainEncoderBlocks: 7 }), FreezeError);
    assert.throws(() => trainableBlocks(spec, { trainEncoderBlocks: 0, trainDecoderBlocks: 0 }), FreezeError);
  });
});

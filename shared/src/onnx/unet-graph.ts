/**
 * The U-Net forward pass of model/unet.ts written as an ONNX graph, weights included, so a native
 * runtime can execute it. Same maths, NCHW layout: per stage two (3x3 Conv → InstanceNormalization
 * → LeakyRelu), stride-2 Conv downsampling, 2x2 stride-2 ConvTranspose upsampling, skip Concat, and
 * only the full-resolution 1x1 head, followed by a softmax over classes.
 *
 * Input `image` [N, inChannels, H, W]; output `probabilities` NHWC [N, H, W, classes]. N, H and W are
 * dynamic; H and W must be divisible by 2^(stages-1), as for the tfjs model.
 */
import { NORM_EPSILON } from '../model/unet.js';
import type { UNetSpec } from '../model/spec.js';
import { checkWeights, decoderBlockAtLevel, LEAKY_SLOPE, type NamedTensor } from '../model/weights.js';
import { encodeOnnxModel, OnnxAttributeType, OnnxDataType, type OnnxAttribute, type OnnxNode, type OnnxTensor } from './onnx-schema.js';

export const ONNX_INPUT = 'image';
export const ONNX_OUTPUT = 'probabilities';
/** Opset 17 (IR version 8): every op used here has had its current semantics since opset 13 or earlier. */
export const ONNX_OPSET = 17;
const IR_VERSION = 8;

/** tfjs filters [kh, kw, a, b] to ONNX [b, a, kh, kw]: HWIO → OIHW for Conv, [h, w, out, in] → [in, out, h, w] for ConvTranspose. */
const TFJS_FILTER_TO_ONNX = [3, 2, 0, 1] as const;

function permute4d(data: Float32Array, shape: readonly number[], perm: readonly number[]): { dims: number[]; data: Float32Array } {
  const dims = perm.map((axis) => shape[axis]!);
  const strides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const [s0, s1, s2, s3] = perm.map((axis) => strides[axis]!) as [number, number, number, number];
  const out = new Float32Array(data.length);
  let o = 0;
  for (let a = 0; a < dims[0]!; a++) {
    for (let b = 0; b < dims[1]!; b++) {
      for (let c = 0; c < dims[2]!; c++) {
        for (let d = 0; d < dims[3]!; d++) out[o++] = data[a * s0 + b * s1 + c * s2 + d * s3]!;
      }
    }
  }
  return { dims, data: out };
}

const ints = (name: string, values: readonly number[]): OnnxAttribute => ({ name, type: OnnxAttributeType.INTS, ints: values });
const int = (name: string, value: number): OnnxAttribute => ({ name, type: OnnxAttributeType.INT, i: value });
const float = (name: string, value: number): OnnxAttribute => ({ name, type: OnnxAttributeType.FLOAT, f: value });
const string = (name: string, value: string): OnnxAttribute => ({ name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(value) });

/** Serialised ONNX model (ModelProto bytes) of the spec's forward pass with these weights as float32 initializers. */
export function unetOnnxModel(spec: UNetSpec, weights: readonly NamedTensor[]): Uint8Array {
  const byName = new Map(checkWeights(spec, weights).map((t) => [t.name, t]));
  const nodes: OnnxNode[] = [];
  const initializer: OnnxTensor[] = [];

  const weight = (name: string, perm?: readonly number[]): string => {
    const tensor = byName.get(name)!;
    const { dims, data } = perm ? permute4d(tensor.data, tensor.shape, perm) : { dims: [...tensor.shape], data: tensor.data };
    initializer.push({ name, dims, dataType: OnnxDataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  };
  const node = (opType: string, output: string, input: readonly string[], attribute: readonly OnnxAttribute[] = []): string => {
    nodes.push({ name: output, opType, input, output: [output], attribute });
    return output;
  };

  const convNormAct = (x: string, prefix: string, stride: 1 | 2): string => {
    // SAME_UPPER is TF 'same': an odd padding total puts the extra pixel at the bottom/right.
    const conv = node('Conv', `${prefix}.conv`, [x, weight(`${prefix}.weight`, TFJS_FILTER_TO_ONNX)], [
      ints('kernel_shape', [3, 3]),
      ints('strides', [stride, stride]),
      string('auto_pad', 'SAME_UPPER'),
    ]);
    const norm = node('InstanceNormalization', `${prefix}.norm`, [conv, weight(`${prefix}.norm.gamma`), weight(`${prefix}.norm.beta`)], [
      float('epsilon', NORM_EPSILON),
    ]);
    return node('LeakyRelu', `${prefix}.act`, [norm], [float('alpha', LEAKY_SLOPE)]);
  };

  const skips: string[] = [];
  let x = ONNX_INPUT;
  for (let stage = 0; stage < spec.stages; stage++) {
    x = convNormAct(x, `enc${stage}.conv1`, stage === 0 ? 1 : 2);
    x = convNormAct(x, `enc${stage}.conv2`, 1);
    skips.push(x);
  }
  for (let level = spec.stages - 2; level >= 0; level--) {
    const block = `dec${decoderBlockAtLevel(spec, level)}`;
    // Kernel 2, stride 2: the output is exactly twice the input, no padding, as tfjs 'same' gives.
    const up = node('ConvTranspose', `${block}.up`, [x, weight(`${block}.up.weight`, TFJS_FILTER_TO_ONNX), weight(`${block}.up.bias`)], [
      ints('kernel_shape', [2, 2]),
      ints('strides', [2, 2]),
    ]);
    x = node('Concat', `${block}.concat`, [up, skips[level]!], [int('axis', 1)]);
    x = convNormAct(x, `${block}.conv1`, 1);
    x = convNormAct(x, `${block}.conv2`, 1);
  }
  const head = `dec${decoderBlockAtLevel(spec, 0)}.head`;
  const logits = node('Conv', `${head}.logits`, [x, weight(`${head}.weight`, TFJS_FILTER_TO_ONNX), weight(`${head}.bias`)], [ints('kernel_shape', [1, 1])]);
  // Transpose first so the softmax runs over the contiguous last axis.
  const nhwc = node('Transpose', `${head}.nhwc`, [logits], [ints('perm', [0, 2, 3, 1])]);
  node('Softmax', ONNX_OUTPUT, [nhwc], [int('axis', -1)]);

  const tensorType = (dim: ({ dimValue: number } | { dimParam: string })[]) => ({ tensorType: { elemType: OnnxDataType.FLOAT, shape: { dim } } });
  return encodeOnnxModel({
    irVersion: IR_VERSION,
    producerName: 'lgefed',
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    graph: {
      name: 'unet',
      node: nodes,
      initializer,
      input: [{ name: ONNX_INPUT, type: tensorType([{ dimParam: 'batch' }, { dimValue: spec.inChannels }, { dimParam: 'height' }, { dimParam: 'width' }]) }],
      output: [{ name: ONNX_OUTPUT, type: tensorType([{ dimParam: 'batch' }, { dimParam: 'height' }, { dimParam: 'width' }, { dimValue: spec.classes }]) }],
    },
  });
}

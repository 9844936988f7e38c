import { backend_util, type TensorInfo } from '@tensorflow/tfjs-core';
import { EngineError } from '../errors.js';

/** An NHWC convolution's geometry (dilation 1), with `dy` checked against its output shape. */
export function convGeometry(
  kernelName: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: number | [number, number],
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  dy: TensorInfo,
): backend_util.Conv2DInfo {
  const g = backend_util.computeConv2DInfo(
    [...xShape] as [number, number, number, number],
    [...filterShape] as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    'channelsLast',
  );
  const expected = [g.batchSize, g.outHeight, g.outWidth, g.outChannels];
  if (dy.shape.length !== 4 || dy.shape.some((d, i) => d !== expected[i])) {
    throw new EngineError(`${kernelName}: dy is [${dy.shape}], expected [${expected}]`);
  }
  return g;
}

import assert from 'node:assert/strict';
import { engine, getBackend, registerKernel, tensor1d, type Tensor, type TensorInfo } from '@tensorflow/tfjs-core';
import { kernelSlot, NO_KERNEL, runningKernel, trackKernels } from '@lgefed/shared/engine/kernel-tracker';
import { useWasm } from '../model/tiny.js';

describe('engine: which kernel a thread is inside', () => {
  before(useWasm);

  it('names the running kernel, the enclosing one again after a nested kernel, and none once it returns', () => {
    const seen: (string | undefined)[] = [];
    const slot = kernelSlot();
    let names: string[] = [];
    // A kernel that runs another kernel (as fused kernels do) and looks at the word before and after.
    registerKernel({
      kernelName: 'LgefedTrackerProbe',
      backendName: getBackend(),
      kernelFunc: ({ inputs }) => {
        seen.push(runningKernel(slot, names));
        const x = inputs['x'] as Tensor;
        const doubled = engine().runKernel('Add', { a: x, b: x }) as TensorInfo;
        seen.push(runningKernel(slot, names));
        return doubled;
      },
    });
    names = trackKernels(slot);
    assert.ok(names.includes('Conv2D') && names.includes('LgefedTrackerProbe'));
    assert.equal(slot[0], NO_KERNEL);
    const x = tensor1d([1, 2, 3]);
    const y = engine().runKernel('LgefedTrackerProbe', { x }) as TensorInfo;
    assert.deepEqual(seen, ['LgefedTrackerProbe', 'LgefedTrackerProbe']);
    assert.equal(runningKernel(slot, names), undefined);
    assert.deepEqual(Array.from(engine().makeTensorFromTensorInfo(y).dataSync()), [2, 4, 6]);
  });
});

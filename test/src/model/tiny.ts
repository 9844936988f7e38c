import { initEngine } from '@lgefed/shared/engine/index';
import { validateSpec, type UNetSpec } from '@lgefed/shared/model/index';
import type { Slice } from '@lgefed/shared';

/** A U-Net small enough to train in seconds on the pure-JS backend. */
export const tinySpec: UNetSpec = validateSpec({
  architecture: 'unet2d-instancenorm-leakyrelu',
  stages: 3,
  baseFeatures: 8,
  maxFeatures: 16,
  inputSize: 16,
  inChannels: 1,
  classes: 3,
});

/** A synthetic short-axis slice: bright blood pool disc inside a darker myocardium ring. */
export function ringSlice(size = 16, centre: readonly [number, number] = [8, 7], inner = 3, outer = 6): Slice {
  const image = new Float32Array(size * size);
  const label = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - centre[0], y - centre[1]);
      const l = r < inner ? 1 : r < outer ? 2 : 0;
      label[y * size + x] = l;
      image[y * size + x] = l === 1 ? 0.9 : l === 2 ? 0.35 : 0.1 + 0.05 * Math.sin(x * 1.7 + y);
    }
  }
  return { image, label, width: size, height: size };
}

/** Tests train on wasm with our training kernels, one thread (the test machine is shared). */
export const engineOptions = { backend: 'wasm', threads: 1, onLog: () => {} } as const;

export async function useWasm(): Promise<void> {
  await initEngine({ backend: 'wasm', threads: 1, log: () => {} });
}

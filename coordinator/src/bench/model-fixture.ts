import { parameterLayout } from '@lgefed/shared/model/weights';
import { unetSpec } from '@lgefed/shared/model/spec';
import type { WeightsHeader } from '@lgefed/protocol/weights-file';

/** The study's U-Net ("paper" preset, 31.1 M parameters) layout, or a prefix of it cut to `parameterCount`. */
export function unetLayout(parameterCount?: number): WeightsHeader {
  const tensors: { name: string; shape: number[] }[] = [];
  let remaining = parameterCount ?? Number.POSITIVE_INFINITY;
  for (const p of parameterLayout(unetSpec('paper'))) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (remaining <= 0) break;
    tensors.push(size <= remaining ? { name: p.name, shape: [...p.shape] } : { name: p.name, shape: [remaining] });
    remaining -= Math.min(size, remaining);
  }
  return { architecture: 'unet2d', tensors };
}

/** Deterministic, non-trivial values (site-specific) without the cost of a real initialiser. */
export function fillParameters(out: Float32Array, site: number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = Math.sin(i * 0.001 + site) * 0.05;
  return out;
}

/**
 * Direct access to the wasm backend from inside a kernel: run other wasm kernels on TensorInfos,
 * allocate outputs, and read or write tensor memory in place on the wasm heap (no copies through
 * JS arrays). Intermediates must be released with `dispose`.
 */
import { getKernel, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from '../errors.js';
import type { WasmMemory } from './simd.js';

/** Where Emscripten keeps the memory: exported by the single-threaded build, created by the threaded one. */
interface EmscriptenModule {
  wasmMemory?: WasmMemory;
  asm?: { memory?: WasmMemory };
}

export class WasmHeap {
  constructor(readonly backend: BackendWasm) {}

  /** Runs the wasm kernel registered under `kernelName` (first output). */
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
    const config = getKernel(kernelName, 'wasm');
    if (!config) throw new EngineError(`wasm kernel ${kernelName} is not registered`);
    const out = config.kernelFunc({ inputs, attrs, backend: this.backend });
    return Array.isArray(out) ? out[0]! : out;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** Uninitialised float32 tensor memory. */
  allocate(shape: number[]): TensorInfo {
    return this.backend.makeOutput(shape, 'float32');
  }

  /**
   * The whole heap as floats plus the float offset of each tensor. Take it after the last
   * allocation: growing the heap replaces the buffer.
   */
  view(...tensors: TensorInfo[]): { heap: Float32Array; offsets: number[] } {
    const heap = new Float32Array((this.backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer);
    return { heap, offsets: this.byteOffsets(...tensors).map((bytes) => bytes / 4) };
  }

  /** The backend's WebAssembly.Memory, for modules of ours that import it (undefined if a build hides it). */
  get memory(): WasmMemory | undefined {
    const module = this.backend.wasm as unknown as EmscriptenModule;
    return module.wasmMemory ?? module.asm?.memory;
  }

  /** Byte offsets of the tensors in `memory`. */
  byteOffsets(...tensors: TensorInfo[]): number[] {
    return tensors.map((t) => this.backend.getMemoryOffset(t.dataId));
  }

  dispose(...tensors: TensorInfo[]): void {
    for (const t of tensors) this.backend.disposeData(t.dataId);
  }
}

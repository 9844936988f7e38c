/**
 * Direct access to the wasm backend from inside a kernel: run other wasm kernels on TensorInfos,
 * allocate outputs, and read or write tensor memory in place on the wasm heap (no copies through
 * JS arrays). Intermediates must be released with `dispose`.
 */
import { getKernel, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { EngineError, EngineMemoryError } from '../errors.js';
import type { WasmMemory } from './simd.js';

/** Where Emscripten keeps the memory: exported by the single-threaded build, created by the threaded one. */
interface EmscriptenModule {
  wasmMemory?: WasmMemory;
  asm?: { memory?: WasmMemory };
}

/** 32-bit wasm addresses 4 GiB at most. */
export const WASM_HEAP_LIMIT = 4 * 2 ** 30;
/**
 * Room our kernels insist on below the limit. The backend's allocator does not fail cleanly when
 * the heap cannot grow: a step past 4 GiB corrupted its free lists and the next free() spun
 * forever. Refusing while a few hundred megabytes remain turns that into an error.
 */
export const WASM_HEAP_RESERVE = 384 * 2 ** 20;

/** Throws EngineMemoryError when `memory` has grown to within `reserve` bytes of the wasm limit. */
export function checkHeapRoom(memory: { readonly buffer: ArrayBufferLike } | undefined, reserve = WASM_HEAP_RESERVE): void {
  const used = memory?.buffer.byteLength ?? 0;
  if (used > WASM_HEAP_LIMIT - reserve) {
    throw new EngineMemoryError(
      `the wasm engine's heap has grown to ${(used / 2 ** 30).toFixed(2)} GiB of its 4 GiB: this model, image size or batch needs more memory than the CPU engine can address (use a smaller size or batch, or the tfjs-node / GPU engine)`,
    );
  }
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

  /** Uninitialised float32 tensor memory; refused near the heap's limit (see checkHeapRoom). */
  allocate(shape: number[]): TensorInfo {
    checkHeapRoom(this.memory);
    return this.backend.makeOutput(shape, 'float32');
  }

  /**
   * The whole heap as floats plus the float offset of each tensor. Take it after the last
   * allocation: growing the heap replaces the buffer. It comes from the memory itself: the threaded
   * build refreshes its HEAPU8 only lazily after a grow, and a view of the old, shorter buffer would
   * silently drop writes to tensors allocated beyond its end.
   */
  view(...tensors: TensorInfo[]): { heap: Float32Array; offsets: number[] } {
    const heap = new Float32Array(this.memory?.buffer ?? (this.backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer);
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

/**
 * Loads tfjs-backend-wasm's multi-threaded SIMD build in Node. The package itself only uses it in
 * browsers (tensorflow/tfjs#3830): in Node its pthread workers would be started from a Blob URL,
 * and XNNPACK's thread pool is capped at half of the logical cores. Here the workers start from
 * wasm-pthread-worker.js and the core count the module sees is the thread count we ask for.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { EngineError } from './errors.js';

const require = createRequire(import.meta.url);
const wasmOut = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
const factoryPath = join(wasmOut, 'tfjs-backend-wasm-threaded-simd.js');
const workerPath = join(dirname(fileURLToPath(import.meta.url)), 'wasm-pthread-worker.js');

/** The Emscripten pieces we touch; the module has many more. */
interface ThreadedModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => unknown;
  PThread: { unusedWorkers: { ref(): void; unref(): void }[] };
  tfjs?: unknown;
}
type ModuleFactory = (config: Record<string, unknown>) => Promise<ThreadedModule>;
interface WasmImports {
  env: Record<string, unknown>;
}
/** The slice of the WebAssembly JS API used here (this project compiles without DOM typings). */
interface WebAssemblyApi {
  instantiate(binary: Uint8Array, imports: WasmImports): Promise<{ instance: object; module: object }>;
}
const webAssembly = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** The Emscripten build spawns this many pthread workers up front; XNNPACK can use at most these. */
export const MAX_WASM_THREADS = 8;

/**
 * Replaces the registered `wasm` backend by one running `threads` XNNPACK threads. Call before
 * `tf.setBackend('wasm')`. Throws when the runtime lacks shared memory or the module fails.
 */
export async function registerThreadedWasmBackend(threads: number): Promise<void> {
  if (!Number.isInteger(threads) || threads < 2 || threads > MAX_WASM_THREADS) {
    throw new EngineError(`threaded wasm needs 2..${MAX_WASM_THREADS} threads, got ${threads}`);
  }
  if (typeof SharedArrayBuffer === 'undefined') throw new EngineError('no SharedArrayBuffer in this runtime');
  const factory = require(factoryPath) as ModuleFactory;
  let failInstantiation: (error: unknown) => void = () => {};
  const instantiationFailed = new Promise<never>((_, reject) => (failInstantiation = reject));
  const module = await Promise.race([
    factory({
      locateFile: (file: string) => (file.endsWith('.worker.js') ? workerPath : join(wasmOut, file)),
      mainScriptUrlOrBlob: factoryPath,
      instantiateWasm: (imports: WasmImports, receive: (instance: object, compiled: object) => void) => {
        // The C++ side sizes its pool as min(threads asked, logical cores / 2).
        imports.env['emscripten_num_logical_cores'] = () => 2 * threads;
        const binary = readFileSync(join(wasmOut, 'tfjs-backend-wasm-threaded-simd.wasm'));
        webAssembly.instantiate(binary, imports).then(
          ({ instance, module: compiled }) => receive(instance, compiled),
          failInstantiation,
        );
        return {};
      },
    }),
    instantiationFailed,
  ]);
  // Idle pool threads block in Atomics.wait; unreferenced, they never keep the process alive.
  for (const worker of module.PThread.unusedWorkers) {
    worker.ref = () => {};
    worker.unref();
  }
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  setThreadsCount(threads);
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => new BackendWasm(module as never), 2);
}

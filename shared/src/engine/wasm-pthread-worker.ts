/**
 * Entry point of each pthread worker of the multi-threaded WASM build. The package ships the
 * Emscripten worker script only as a string (meant for a browser Blob URL, which Node's
 * worker_threads cannot load), so this file evaluates that string with the `require` and
 * `__filename` it expects.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as {
  wasmWorkerContents: string;
};
// The string was written for a Blob, where "\n" inside its string literals must stay escaped.
const script = wasmWorkerContents.replace(/\n/g, '\\n');
new Function('require', '__filename', script)(require, fileURLToPath(import.meta.url));

/**
 * Compiles the AssemblyScript kernels in this folder into dist/wasm, one module per target of
 * asconfig.json (plain and shared memory), in one process; a target whose output is newer than
 * every file here is skipped. Run by `npm run build` before tsc.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const config = `${here}asconfig.json`;
const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -Infinity;
  }
};
const newestSource = Math.max(...readdirSync(here).map((file) => mtime(here + file)));
const stale = Object.entries(JSON.parse(readFileSync(config, 'utf8')).targets).filter(([, { outFile }]) => mtime(here + outFile) <= newestSource);
if (stale.length > 0) {
  // Loaded only when needed: the compiler takes seconds to start.
  const { default: asc } = await import('assemblyscript/asc');
  for (const [target] of stale) {
    const { error } = await asc.main(['--config', config, '--target', target]);
    if (error) {
      console.error(`asc --target ${target}: ${error.message}`);
      process.exit(1);
    }
  }
}

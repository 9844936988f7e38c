import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Debian's python3 carries scikit-image; a pyenv python on PATH may not. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

const SCRIPT = `
import sys, numpy as np
from skimage.exposure import match_histograms
source = np.fromfile(sys.argv[1], dtype=np.float32)
reference = np.fromfile(sys.argv[2], dtype=np.float32)
match_histograms(source, reference).astype(np.float32).tofile(sys.argv[3])
`;

/** skimage.exposure.match_histograms on the same arrays, as the reference implementation. */
export async function skimageMatchHistograms(source: Float32Array, reference: Float32Array): Promise<Float32Array> {
  const dir = await mkdtemp(join(tmpdir(), 'lgefed-skimage-'));
  try {
    const [src, ref, out] = ['source', 'reference', 'out'].map((name) => join(dir, `${name}.f32`)) as [string, string, string];
    await writeFile(src, Buffer.from(source.buffer, source.byteOffset, source.byteLength));
    await writeFile(ref, Buffer.from(reference.buffer, reference.byteOffset, reference.byteLength));
    await run(SYSTEM_PYTHON, ['-c', SCRIPT, src, ref, out]);
    const bytes = await readFile(out);
    return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

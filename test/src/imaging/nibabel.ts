import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** nibabel's own test files: big-endian, NIfTI-2, 4D, sform-only. */
export const NIBABEL_DATA = '/usr/lib/python3/dist-packages/nibabel/tests/data';

/** Runs a Python snippet with nibabel and numpy imported (as nib, np); it must print one JSON value. */
export async function python<T>(code: string, args: string[] = []): Promise<T> {
  const script = `import sys, json\nimport numpy as np\nimport nibabel as nib\n${code}`;
  const { stdout } = await run('/usr/bin/python3', ['-c', script, ...args], { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as T;
}

export interface NibabelView {
  shape: number[];
  zooms: number[];
  affine: number[][];
  /** The qform alone (what ITK-SNAP reads). */
  qform: number[][];
  /** Voxels (scaled) in x-fastest order, as float. */
  data: number[];
}

/**
 * What nibabel reads from each file: shape, zooms, best affine, qform and the scaled voxels. One Python
 * process for all of them: interpreter and numpy start-up cost more than the reads.
 */
export function nibabelReadAll(files: readonly string[]): Promise<NibabelView[]> {
  return python<NibabelView[]>(
    `out = []
for f in sys.argv[1:]:
    im = nib.load(f)
    d = np.asarray(im.dataobj, dtype=np.float64)
    out.append({"shape": list(im.shape), "zooms": [float(z) for z in im.header.get_zooms()[:3]],
      "affine": im.affine.tolist(), "qform": im.get_qform().tolist(), "data": d.flatten(order="F").tolist()})
print(json.dumps(out))`,
    [...files],
  );
}

import { Label, type LabelValue } from '../types.js';
import { DataError } from './errors.js';

/** From a site's label values to ours; values not in the map are unknown (reported, then set to background). */
export type LabelMap = ReadonlyMap<number, LabelValue>;

const map = (entries: [number, LabelValue][]): LabelMap => new Map(entries);
const { background, bloodpool, myocardium } = Label;

/** EMIDEC: 1 cavity, 2 myocardium, 3 infarct, 4 no-reflow — infarct and no-reflow are myocardium for LV anatomy. */
export const EMIDEC_LABELS = map([[0, background], [1, bloodpool], [2, myocardium], [3, myocardium], [4, myocardium]]);
/** MS-CMRSeg: 500 LV blood pool, 200 LV myocardium, 600 right ventricle (not ours: background). */
export const MSCMR_LABELS = map([[0, background], [500, bloodpool], [200, myocardium], [600, background]]);
/** Already our convention (e.g. Sunnybrook-derived NIfTI). */
export const OUR_LABELS = map([[0, background], [1, bloodpool], [2, myocardium]]);

/**
 * Parses a per-site override such as `500=1,200=2,600=0` (site value = our value). Our values must be
 * 0, 1 or 2; the override replaces the layout default entirely so nothing is mapped by accident,
 * except that 0 stays background unless the site maps it.
 */
export function parseLabelMap(text: string, source = '--labels'): LabelMap {
  const out = new Map<number, LabelValue>();
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^(-?\d+(?:\.\d+)?)\s*[=:]\s*([012])$/.exec(pair);
    if (!m) throw new DataError('bad-label-map', source, `'${pair}' is not SITE=OURS with OURS in 0 (background), 1 (blood pool), 2 (myocardium)`);
    out.set(Number(m[1]), Number(m[2]) as LabelValue);
  }
  if (out.size === 0) throw new DataError('bad-label-map', source, 'empty label map');
  if (!out.has(0)) out.set(0, background);
  return out;
}

export interface MappedLabels {
  readonly data: Uint8Array;
  /** Distinct values found in the file, ascending. */
  readonly values: number[];
  /** Values with no mapping, ascending; their voxels became background. */
  readonly unknown: number[];
}

const tables = new WeakMap<LabelMap, Uint8Array>();

/** Site value → our value for 0..65535, built once per map; unknown values map to background (and are reported from `seen`). */
function lookupTable(labelMap: LabelMap): Uint8Array {
  let lut = tables.get(labelMap);
  if (!lut) {
    lut = new Uint8Array(65536);
    for (const [site, ours] of labelMap) if (Number.isInteger(site) && site >= 0 && site < 65536) lut[site] = ours;
    tables.set(labelMap, lut);
  }
  return lut;
}

/** Integer samples (PNG): every value indexes the table directly. */
function mapIntegers(raw: Uint8Array | Uint16Array, lut: Uint8Array, data: Uint8Array, seen: Uint8Array): void {
  for (let i = 0; i < raw.length; i++) {
    const k = raw[i]!;
    seen[k] = 1;
    data[i] = lut[k]!;
  }
}

/** Float voxels (NIfTI): integers in 0..65535 use the table, anything else goes through the map. */
function mapFloats(raw: Float32Array, labelMap: LabelMap, lut: Uint8Array, data: Uint8Array, seen: Uint8Array, others: Set<number>): void {
  for (let i = 0; i < raw.length; i++) {
    const v = raw[i]!;
    const k = v & 0xffff;
    if (k === v) {
      seen[k] = 1;
      data[i] = lut[k]!;
    } else {
      others.add(v);
      data[i] = labelMap.get(v) ?? background;
    }
  }
}

/** Maps a site's raw label values (as read: floats from NIfTI, integer samples from PNG) to ours. */
export function applyLabelMap(raw: Float32Array | Uint8Array | Uint16Array, labelMap: LabelMap): MappedLabels {
  const data = new Uint8Array(raw.length);
  // Label files hold small non-negative integers: a lookup table beats a Map/Set per voxel.
  const lut = lookupTable(labelMap);
  const seen = new Uint8Array(65536);
  const others = new Set<number>();
  if (raw instanceof Float32Array) mapFloats(raw, labelMap, lut, data, seen, others);
  else mapIntegers(raw, lut, data, seen);
  const values = [...others];
  for (let v = 0; v < 65536; v++) if (seen[v]) values.push(v);
  values.sort((a, b) => a - b);
  return { data, values, unknown: values.filter((v) => !labelMap.has(v)) };
}

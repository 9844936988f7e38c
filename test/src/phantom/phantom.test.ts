import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Label } from '@lgefed/shared';
import { loadDataset } from '@lgefed/shared/imaging/index';
import { generatePhantomCase, PROFILES, Random, renderImage, sampleAcquisition, Tissue, writePhantomSite, writePhantomSiteInWorker } from '@lgefed/shared/phantom/index';

function meanOf(image: Float32Array, tissues: Uint8Array, tissue: number): number {
  let s = 0;
  let n = 0;
  for (let i = 0; i < image.length; i++) if (tissues[i] === tissue) (s += image[i]!), n++;
  return n ? s / n : NaN;
}

describe('phantom: multi-vendor LGE generator', function () {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'lgefed-phantom-'))));
  after(() => rm(dir, { recursive: true, force: true }));

  it('is deterministic for a seed and differs across seeds and cases', () => {
    const a = generatePhantomCase(PROFILES.emidec!, 7, 0);
    const b = generatePhantomCase(PROFILES.emidec!, 7, 0);
    assert.deepEqual(a.image.data, b.image.data);
    assert.deepEqual(a.label!.data, b.label!.data);
    assert.notDeepEqual(generatePhantomCase(PROFILES.emidec!, 8, 0).image.data, a.image.data);
    assert.notDeepEqual(generatePhantomCase(PROFILES.emidec!, 7, 1).anatomy, a.anatomy);
  });

  it('draws each profile with its Table 1 geometry', () => {
    for (let i = 0; i < 4; i++) {
      const e = generatePhantomCase(PROFILES.emidec!, 1, i).image;
      assert.ok(e.spacing[0] >= 1.37 && e.spacing[0] <= 1.88 && e.spacing[2] >= 8 && e.spacing[2] <= 13 && e.dims[2] >= 4 && e.dims[2] <= 10);
      const s = generatePhantomCase(PROFILES.stpau!, 1, i).image;
      assert.ok(s.spacing[0] === 1.18 && s.spacing[2] === 5 && s.dims[2] >= 18 && s.dims[2] <= 24);
    }
  });

  it('draws the cine cohort as cine: bright blood, grey myocardium (blood/myocardium ≈ 3 against LGE ≈ 1.3), no scar', () => {
    const ratio = (profile: string, index: number) => {
      const c = generatePhantomCase(PROFILES[profile]!, 4, index);
      const mean = (label: number) => {
        let sum = 0;
        let n = 0;
        c.label!.data.forEach((l, i) => {
          if (l === label) {
            sum += c.image.data[i]!;
            n++;
          }
        });
        return sum / n;
      };
      return { ratio: mean(Label.bloodpool) / mean(Label.myocardium), infarct: c.anatomy.infarct };
    };
    for (let i = 0; i < 3; i++) {
      const cine = ratio('cine', i);
      assert.ok(cine.ratio > 2.2, `cine case ${i}: blood/myocardium ${cine.ratio}`);
      assert.equal(cine.infarct, undefined);
      const lge = ratio('emidec', i);
      assert.ok(lge.ratio < 2, `LGE case ${i}: blood/myocardium ${lge.ratio}`);
    }
  });

  it('thins a long stack to maxSlices over the same extent, and leaves short stacks alone', () => {
    const full = generatePhantomCase(PROFILES.stpau!, 1, 0);
    const thin = generatePhantomCase(PROFILES.stpau!, 1, 0, { maxSlices: 6 });
    assert.equal(thin.image.dims[2], 6);
    assert.deepEqual(thin.image.dims.slice(0, 2), full.image.dims.slice(0, 2));
    assert.deepEqual(thin.anatomy, full.anatomy);
    const extent = (v: { dims: readonly number[]; spacing: readonly number[] }) => (v.dims[2]! - 1) * v.spacing[2]!;
    assert.ok(Math.abs(extent(thin.image) - extent(full.image)) < 1e-9, `${extent(thin.image)} vs ${extent(full.image)} mm`);
    assert.equal(thin.label!.dims[2], 6);
    // Every thinned stack still crosses the LV, so each case keeps labelled blood pool.
    assert.ok(thin.label!.data.some((v) => v === 1));
    const short = generatePhantomCase(PROFILES.emidec!, 1, 0);
    assert.deepEqual(generatePhantomCase(PROFILES.emidec!, 1, 0, { maxSlices: 50 }).image.data, short.image.data);
    assert.throws(() => generatePhantomCase(PROFILES.emidec!, 1, 0, { maxSlices: 1 }), /maxSlices/);
  });

  it('labels match the geometry: blood pool at the LV centre, enclosed by myocardium, radius as drawn', () => {
    const c = generatePhantomCase(PROFILES.stpau!, 3, 2);
    const [w, h, d] = c.image.dims;
    const px = c.image.spacing[0];
    const labels = c.label!.data;
    // Every blood-pool pixel's 4-neighbours are blood pool or myocardium: the cavity is closed by the wall,
    // except at the base where it opens into the outflow tract (bright blood, not LV).
    for (let k = 0; k < d; k++) {
      for (let y = 1; y < h - 1; y++) {
        for (let x = 1; x < w - 1; x++) {
          const i = k * w * h + y * w + x;
          if (labels[i] !== Label.bloodpool) continue;
          for (const n of [i - 1, i + 1, i - w, i + w]) {
            assert.ok(labels[n] === Label.bloodpool || labels[n] === Label.myocardium || c.tissues[n] === Tissue.vessel, `slice ${k} (${x},${y})`);
          }
        }
      }
    }
    // The most basal slice with a closed cavity (past the outflow tract): its centroid is the drawn LV
    // centre, its area near π·r².
    const closed = (z: number) =>
      !labels.subarray(z * w * h, (z + 1) * w * h).some((v, p) => v === Label.bloodpool && [1, -1, w, -w].some((o) => c.tissues[z * w * h + p + o] === Tissue.vessel));
    const k = [...Array(d).keys()].find((z) => labels.subarray(z * w * h, (z + 1) * w * h).includes(Label.bloodpool) && closed(z))!;
    let n = 0;
    let sx = 0;
    let sy = 0;
    labels.subarray(k * w * h, (k + 1) * w * h).forEach((v, i) => {
      if (v === Label.bloodpool) (n++, (sx += i % w), (sy += Math.floor(i / w)));
    });
    assert.ok(Math.hypot((sx / n + 0.5) * px - c.anatomy.lvCentre[0], (sy / n + 0.5) * px - c.anatomy.lvCentre[1]) < 3, `centroid within 3 mm (slice ${k})`);
    const areaMm2 = n * px * px;
    assert.ok(areaMm2 < Math.PI * (c.anatomy.endoRadius * 1.15) ** 2, `area ${areaMm2.toFixed(0)} mm² not larger than the drawn cavity`);
    assert.ok(areaMm2 > Math.PI * (c.anatomy.endoRadius * 0.6) ** 2, `area ${areaMm2.toFixed(0)} mm² not much smaller`);
  });

  it('has papillary muscles (myocardial signal, labelled cavity) mid-ventricle and an outflow-tract gap in the basal ring only', () => {
    const c = generatePhantomCase(PROFILES.stpau!, 4, 1);
    const [w, h, d] = c.image.dims;
    const plane = w * h;
    const blood = meanOf(c.image.data, c.tissues, Tissue.lvBlood);
    const papillary = meanOf(c.image.data, c.tissues, Tissue.papillary);
    assert.ok(papillary < 0.7 * blood, `papillary ${papillary.toFixed(3)} darker than blood ${blood.toFixed(3)}`);
    for (let i = 0; i < c.tissues.length; i++) if (c.tissues[i] === Tissue.papillary || c.tissues[i] === Tissue.trabeculae) assert.equal(c.label!.data[i], Label.bloodpool);
    assert.ok(c.tissues.includes(Tissue.trabeculae), 'trabeculation at the endocardium');
    // Slices where cavity touches outflow-tract blood: only the first LV slices (t < 0.12 of the LV length).
    const opens = [...Array(d).keys()].map((k) => {
      for (let p = k * plane + w; p < (k + 1) * plane - w; p++) {
        if (c.label!.data[p] === Label.bloodpool && [p - 1, p + 1, p - w, p + w].some((n) => c.tissues[n] === Tissue.vessel)) return true;
      }
      return false;
    });
    const firstLv = c.label!.data.findIndex((v) => v === Label.bloodpool);
    const firstLvSlice = Math.floor(firstLv / plane);
    assert.ok(opens[firstLvSlice], 'the most basal LV slice opens into the outflow tract');
    const openSlices = opens.filter(Boolean).length;
    assert.ok(openSlices * c.image.spacing[2] <= 0.12 * c.anatomy.length + c.image.spacing[2], `${openSlices} open slices is more than the basal 12%`);
  });

  it('looks like LGE: blood brighter than the (dark grey) nulled myocardium, scar brighter than blood, dark no-reflow core', () => {
    let checkedScar = false;
    for (let i = 0; i < 12 && !checkedScar; i++) {
      const c = generatePhantomCase(PROFILES.emidec!, 11, i);
      const blood = meanOf(c.image.data, c.tissues, Tissue.lvBlood);
      const myo = meanOf(c.image.data, c.tissues, Tissue.lvMyocardium);
      // EMIDEC exports keep healthy myocardium dark grey: blood/myocardium is about 1.3 on the real slices.
      assert.ok(blood > 1.1 * myo, `case ${i}: blood ${blood.toFixed(3)} vs myocardium ${myo.toFixed(3)}`);
      if (c.anatomy.infarct?.noReflow) {
        const scar = meanOf(c.image.data, c.tissues, Tissue.scar);
        const core = meanOf(c.image.data, c.tissues, Tissue.noReflow);
        if (Number.isNaN(core)) continue;
        assert.ok(scar > blood && core < scar / 2, `case ${i}: scar ${scar.toFixed(3)}, core ${core.toFixed(3)}`);
        checkedScar = true;
      }
    }
    assert.ok(checkedScar, 'some case has scar with a no-reflow core');
  });

  it('surrounds the heart with textured, cluttered tissue rather than flat shading', () => {
    const c = generatePhantomCase(PROFILES.emidec!, 2, 3);
    for (const tissue of [Tissue.bowel, Tissue.fatPad, Tissue.pulmonaryVessel]) assert.ok(c.tissues.includes(tissue), `tissue ${tissue} present`);
    // Without noise and coil bias, one tissue class is flat unless the texture varies it.
    const [w, h] = [128, 128];
    const slice = new Uint8Array(w * h).fill(Tissue.softTissue);
    const pixel = [1.5, 1.5] as const;
    const acquisition = sampleAcquisition(new Random(2, 'texture'), PROFILES.emidec!.appearance);
    const variation = (texture: number) => {
      const image = renderImage(slice, w, h, pixel, { ...acquisition, texture, noise: 0, bias: [0, 0, 0], zeroFill: 0, zeroFillRead: 0 }, new Random(2, 'render'));
      const values = [...image];
      const m = values.reduce((a, b) => a + b, 0) / values.length;
      return Math.sqrt(values.reduce((a, v) => a + (v - m) ** 2, 0) / values.length) / m;
    };
    assert.ok(variation(0) < 1e-4, `untextured soft tissue is flat (${variation(0)})`);
    assert.ok(variation(0.3) > 0.04, `textured soft tissue varies (coefficient of variation ${variation(0.3).toFixed(3)})`);
  });

  for (const profile of Object.keys(PROFILES)) {
    it(`writes the ${profile} site in its own layout and label convention; loading maps it back to our labels exactly`, async () => {
      const out = join(dir, profile);
      const summary = await writePhantomSite({ profile, cases: 1, seed: 5, out, gallery: profile === 'emidec' });
      const expected = generatePhantomCase(PROFILES[profile]!, 5, 0);
      const ds = await loadDataset(out);
      assert.equal(ds.layout, PROFILES[profile]!.layout);
      assert.deepEqual(ds.problems, []);
      const c = ds.cases[0]!;
      assert.equal(c.id, summary.cases[0]!.id);
      assert.deepEqual(c.image.dims, expected.image.dims);
      c.image.spacing.forEach((s, i) => assert.ok(Math.abs(s - expected.image.spacing[i]!) < 1e-4));
      assert.deepEqual(c.label!.data, expected.label!.data);
      assert.deepEqual(c.unknownLabelValues, []);
      // Stored intensities follow the generated image (quantised, scaled by the vendor's storage).
      const ratio = meanOf(c.image.data, expected.tissues, Tissue.lvBlood) / meanOf(expected.image.data, expected.tissues, Tissue.lvBlood);
      const ratioFat = meanOf(c.image.data, expected.tissues, Tissue.subcutaneousFat) / meanOf(expected.image.data, expected.tissues, Tissue.subcutaneousFat);
      assert.ok(Math.abs(ratio / ratioFat - 1) < 0.05, `${profile}: stored contrast preserved (${ratio}, ${ratioFat})`);
    });
  }

  it('writes a gallery PNG a person can look at', async () => {
    const png = await readFile(join(dir, 'emidec', 'gallery-emidec.png'));
    assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
    // IHDR: one 160-pixel column per case (1 here), image over overlay, RGB.
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20), png[25]], [160, 320, 2]);
  });

  it('generates in a worker thread and reports a bad profile as a typed error', async () => {
    const summary = await writePhantomSiteInWorker({ profile: 'emidec', cases: 2, seed: 9, out: join(dir, 'worker') });
    assert.equal(summary.cases.length, 2);
    await assert.rejects(writePhantomSiteInWorker({ profile: 'nope', cases: 1, seed: 1, out: join(dir, 'x') }), (e: Error & { code?: string }) => e.code === 'bad-input' && /unknown phantom profile/.test(e.message));
  });
});

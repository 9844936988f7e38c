import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildSiteIntensityReport } from '@lgefed/shared/harmonise/index';
import { cohortProfile, intensityHarmonisation, readReferenceProfile, REFERENCE_PROFILE_FILE, WorkflowError, writeReferenceProfile } from '@lgefed/shared/workflows/index';
import { ringCase } from './fixtures.js';

describe('workflows: harmonisation transform', () => {
  it('brings a site image closer to the shipped reference profile, keeping its grid', async () => {
    const reference = cohortProfile([ringCase('r1'), ringCase('r2', 24, 3, 1)]);
    const site = ringCase('s');
    // Another scanner: a gamma-like remapping of the same anatomy.
    const shifted = { ...site.image, data: site.image.data.map((v) => 255 * (v / 255) ** 0.4) };
    const harmonised = await intensityHarmonisation('histogram', reference)(shifted, site);
    assert.deepEqual(harmonised.dims, shifted.dims);
    assert.equal(harmonised.data.length, shifted.data.length);
    const distance = (data: Float32Array) => buildSiteIntensityReport([data], { epsilon: 1e6, reference, uniform: () => 0.5 }).distances!.wasserstein1;
    assert.ok(distance(harmonised.data) < distance(shifted.data) / 2, `W1 ${distance(harmonised.data)} vs ${distance(shifted.data)} before`);
  });

  it('round-trips the profile file next to a model and rejects a file that is not one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lgefed-profile-'));
    try {
      const profile = cohortProfile([ringCase('r')]);
      await writeReferenceProfile(dir, profile);
      assert.deepEqual(await readReferenceProfile(join(dir, REFERENCE_PROFILE_FILE)), JSON.parse(JSON.stringify(profile)));
      await writeFile(join(dir, 'other.json'), '{"bins": 3}');
      await assert.rejects(readReferenceProfile(join(dir, 'other.json')), WorkflowError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

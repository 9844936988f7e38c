import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSiteConfig } from '@lgefed/site-agent/config';
import { registerDatasets } from '@lgefed/site-agent/datasets';

const SUNNYBROOK = '/work/shared/data/sunnybrook-cine-nifti';

/** Issue 13 (medium 13): the decoded-size bound on image files is the site's to set, per dataset, in site.json. */
describe("site agent: site.json bounds how large an image file may decode (issue 13, medium 13)", function () {
  this.timeout(60_000);
  let stateDir = '';
  before(async () => (stateDir = await mkdtemp(join(tmpdir(), 'lgefed-decode-limit-'))));
  after(() => rm(stateDir, { recursive: true, force: true }));

  const config = (maxDecodedBytes?: unknown) => parseSiteConfig({ stateDir, datasets: [{ name: 'cine', path: SUNNYBROOK, ...(maxDecodedBytes === undefined ? {} : { maxDecodedBytes }) }] }, join(stateDir, 'site.json'));

  it('refuses a limit that is not a positive whole number of bytes', () => {
    for (const bad of [0, -1, 1.5, '1GB', null]) assert.throws(() => config(bad), /datasets\[0\]\.maxDecodedBytes must be a positive whole number of bytes/, String(bad));
  });

  it('skips real volumes above the limit as problems, unread, and registers them under a limit they fit', async () => {
    // Each Sunnybrook cine volume decodes to about 1.2 MB.
    await assert.rejects(registerDatasets(config(1_000_000)), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'dataset_invalid');
      assert.match(err.message, /more than the 1000000 allowed \(maxDecodedBytes\)/);
      return true;
    });
    const [cine] = await registerDatasets(config(64 * 1024 ** 2));
    assert.equal(cine!.summary.labelledCaseCount, 3);
  });
});

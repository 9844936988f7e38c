import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import type { Browser } from 'playwright-core';
import { saveModel } from '@lgefed/shared/model/io';
import { validateSpec } from '@lgefed/shared/model/spec';
import { initialWeights } from '@lgefed/shared/model/weights';
import { analyseSite, type SiteReview } from '@lgefed/site-agent/review/analysis';
import { ReviewServerError, startReviewServer, type ReviewServer } from '@lgefed/site-agent/review/server';
import { writeTinyDataset } from '../federation/harness.js';
import { launchChromium, screenshot, watchPageErrors } from './browser.js';

/** A GET with the headers a browser on another page (or another local process) would send. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Pixels where red clearly dominates: the label colours (blood pool red, myocardium yellow) over a grey image. */
function colouredPixels(png: PNG): number {
  let n = 0;
  for (let i = 0; i < png.data.length; i += 4) if (png.data[i]! > 150 && png.data[i]! > png.data[i + 2]! + 80) n++;
  return n;
}

describe('site review page (local model run, niivue overlay, per-case Dice, intensity check)', function () {
  this.timeout(180_000);
  let root = '';
  let review: SiteReview;
  let server: ReviewServer;
  let browser: Browser;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-review-'));
    await writeTinyDataset(join(root, 'data'), 3, 5);
    const spec = validateSpec({ architecture: 'unet2d-instancenorm-leakyrelu', stages: 2, baseFeatures: 2, maxFeatures: 4, inputSize: 16, inChannels: 1, classes: 3 });
    await saveModel(join(root, 'model'), spec, initialWeights(spec, 1));
    review = await analyseSite({ modelDir: join(root, 'model'), dataDir: join(root, 'data'), layout: 'nifti-pairs', backend: 'cpu' });
    server = await startReviewServer({ host: '127.0.0.1', ...review });
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('predicts every case on its own grid and scores the labelled ones', () => {
    assert.equal(review.cases.length, 3);
    for (const c of review.cases) {
      const predicted = review.predictions.get(c.id)!;
      assert.deepEqual(predicted.dims, c.image.dims);
      const scores = review.metrics.get(c.id)!;
      for (const s of [scores.bloodpool.dice, scores.myocardium.dice]) assert.ok(s >= 0 && s <= 1);
    }
    assert.equal(review.harmonisation.comparedWith, 'site pooled');
    assert.deepEqual(review.harmonisation.cases.map((c) => c.caseId).sort(), review.cases.map((c) => c.id).sort());
  });

  it('refuses to serve anywhere but loopback', async () => {
    await assert.rejects(startReviewServer({ port: 0, host: '0.0.0.0' as '127.0.0.1', ...review }), ReviewServerError);
  });

  it('serves nothing without the session token, to another Host (DNS rebinding) or to another Origin', async () => {
    const url = new URL(server.url);
    const token = url.pathname.split('/')[1]!;
    assert.ok(token.length >= 40, `session token ${token}`);
    assert.notEqual(url.port, '8765', 'a random port by default');
    const origin = `${url.protocol}//${url.host}`;
    const withToken = (path: string) => `${origin}/${token}${path}`;
    assert.equal((await get(withToken('/api/review'))).status, 200);
    assert.equal((await get(withToken('/volumes/0/image.nii'))).status, 200);
    assert.equal((await get(withToken('/api/review'), { origin })).status, 200);
    const refused = [
      // No token, or a wrong one of the same length: another local user or process.
      get(`${origin}/`),
      get(`${origin}/api/review`),
      get(`${origin}/volumes/0/image.nii`),
      get(`${origin}/${'A'.repeat(token.length)}/api/review`),
      get(`${origin}/${token}`),
      // A rebinding page: its own host name in Host, even with the token.
      get(withToken('/api/review'), { host: `attacker.example:${url.port}` }),
      get(withToken('/volumes/0/image.nii'), { host: `attacker.example:${url.port}` }),
      // A cross-origin request that reaches the right host.
      get(withToken('/api/review'), { origin: 'http://attacker.example' }),
      get(withToken('/api/review'), { origin: `https://${url.host}` }),
    ];
    for (const response of await Promise.all(refused)) assert.deepEqual(response, { status: 404, body: '' });
    const other = await startReviewServer({ host: '127.0.0.1', ...review });
    try {
      assert.notEqual(new URL(other.url).pathname, url.pathname, 'each server has its own token');
      assert.equal((await get(`${new URL(other.url).origin}/${token}/api/review`)).status, 404);
    } finally {
      await other.close();
    }
  });

  it('renders a case with the segmentation overlaid in niivue, the Dice table and the intensity charts', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.setDefaultTimeout(120_000);
    const errors = watchPageErrors(page);
    await page.goto(server.url);
    await page.waitForSelector(`body[data-loaded="${review.cases[0]!.id}:prediction"]`);
    assert.equal(await page.locator('tr.case').count(), 3);
    await page.waitForSelector('#dice-chart svg');
    await page.waitForSelector('#histogram-chart svg');
    await page.check('#show-label');
    await page.waitForSelector(`body[data-loaded="${review.cases[0]!.id}:label"]`);
    // The same view with the overlay fully transparent and half opaque: the colour must come from the labels.
    const colouredAt = async (opacity: string) => {
      await page.evaluate(`(() => { const s = document.getElementById('opacity'); s.value = '${opacity}'; s.dispatchEvent(new Event('input')); })()`);
      await page.waitForSelector(`body[data-opacity="${opacity}"]`);
      await page.waitForTimeout(300);
      return colouredPixels(PNG.sync.read(await page.locator('#viewer').screenshot()));
    };
    const hidden = await colouredAt('0');
    const shown = await colouredAt('0.6');
    assert.ok(hidden < 20, `${hidden} label-coloured pixels with the overlay transparent`);
    assert.ok(shown > 100, `overlay not visible: ${shown} label-coloured pixels`);
    await screenshot(page, '8-site-review');
    const requests = new Set<string>();
    page.on('request', (r) => requests.add(new URL(r.url()).host));
    await page.click('tr.case >> nth=1');
    await page.waitForSelector(`body[data-loaded^="${review.cases[1]!.id}:"]`);
    assert.deepEqual([...requests], [new URL(server.url).host], 'the page must only talk to the local review server');
    assert.deepEqual(errors, []);
    await page.close();
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { io } from 'socket.io-client';
import { cli, prepareSite, startAgent, startCoordinatorProcess, TINY_ARCH, waitForJob, type Proc, type RunningCoordinatorProcess, type SiteSetup } from '../federation/harness.js';
import { launchChromium, screenshot, watchPageErrors } from './browser.js';

async function signIn(page: Page, url: string, token: string): Promise<void> {
  page.setDefaultTimeout(120_000);
  await page.goto(`${url}/console/`);
  await page.fill('#login-token', token);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])');
}

describe('coordinator console in headless Chromium (real coordinator, two real agents)', function () {
  // The machine is shared: allow a slow federation rather than wall-clock assumptions.
  this.timeout(900_000);
  let root = '';
  let coordinator: RunningCoordinatorProcess;
  let viewerToken = '';
  let browser: Browser;
  const agents: Proc[] = [];
  const sites: SiteSetup[] = [];
  let jobId = '';
  /** The fedavg spec the job form wrote, for submitting more jobs like it. */
  let formSpec: Record<string, unknown> = {};

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-console-'));
    const state = join(root, 'coordinator');
    coordinator = await startCoordinatorProcess(state);
    viewerToken = (await cli('coordinator', 'token', '--state', state, '--subject', 'vera', '--role', 'viewer')).stdout.trim();
    for (const [i, name] of ['north', 'south'].entries()) sites.push(await prepareSite(root, state, name, 11 + i));
    for (const site of sites) agents.push(startAgent(site));
    await Promise.all(agents.map((a) => a.waitFor(/connected to /)));
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await Promise.all(agents.map((a) => a.kill()));
    await coordinator?.proc.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('answers 401 to unauthenticated requests and refuses a live connection without a token', async () => {
    for (const path of ['/api/console/sites', '/api/console/jobs', '/api/jobs', '/api/whoami', '/api/jobs/x/report']) {
      const res = await fetch(`${coordinator.url}${path}`);
      assert.equal(res.status, 401, path);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'unauthenticated');
    }
    const bad = await fetch(`${coordinator.url}/api/console/sites`, { headers: { authorization: 'Bearer not-a-jwt' } });
    assert.equal(bad.status, 401);
    const refused = await new Promise<string>((resolve, reject) => {
      const socket = io(coordinator.url, { path: '/console/live', auth: {}, reconnection: false, transports: ['websocket'] });
      socket.on('connect', () => reject(new Error('connected without a token')));
      socket.on('connect_error', (err) => {
        socket.close();
        resolve(err.message);
      });
    });
    assert.match(refused, /missing bearer token/);
  });

  it('signs in, shows both sites online, submits a small job and watches its progress advance', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors = watchPageErrors(page);
    await signIn(page, coordinator.url, coordinator.token);
    await page.waitForFunction("document.querySelectorAll('[data-site][data-state=online]').length === 2");
    assert.equal(await page.textContent('#sites-online'), '2/2');
    await page.waitForSelector('#site-cards svg');
    await screenshot(page, '1-sites');

    await page.click('nav a[data-view=jobs]');
    await page.click('#submit-panel summary');
    await page.selectOption('#submit-kind', 'fedavg');
    // The form's fields, not JSON: the study's defaults, changed where this small federation needs it.
    await page.getByLabel('Name', { exact: true }).fill('small FedAvg');
    await page.getByLabel('Rounds', { exact: true }).fill('1');
    await page.getByLabel('Network', { exact: true }).fill(TINY_ARCH);
    await page.getByLabel('Start from model', { exact: true }).fill('');
    await page.getByLabel('Seed', { exact: true }).fill('3');
    await page.getByLabel('Deadline per task (s)').fill('800');
    await page.click('#submit-advanced summary');
    // The JSON view is written from the fields when it opens: wait for it rather than race it.
    await page.waitForFunction("document.querySelector('#submit-spec').value.trim().startsWith('{')");
    const spec = JSON.parse(await page.inputValue('#submit-spec')) as Record<string, unknown>;
    formSpec = spec;
    assert.deepEqual(spec['sites'], ['north', 'south']);
    assert.equal(spec['initialModel'], null);
    assert.deepEqual(spec['config'], { batchSize: 4, learningRate: 0.001, seed: 3 });
    await page.click('#submit-advanced summary'); // closed again: the fields are what is submitted
    await screenshot(page, '1b-job-form');
    await page.click('#submit-form button[type=submit]');
    await page.waitForSelector('article.job[data-status]');
    jobId = (await page.getAttribute('article.job', 'data-job'))!;
    assert.equal(await page.textContent(`article.job[data-job="${jobId}"] h3`), 'small FedAvg');

    // Sample the job card as live updates arrive: completed rounds must climb while it runs.
    const completedRounds: number[] = [];
    let midRunShot = false;
    for (const until = Date.now() + 800_000; Date.now() < until; ) {
      const card = page.locator(`article.job[data-job="${jobId}"]`);
      const status = await card.getAttribute('data-status');
      completedRounds.push(await card.locator('.rounds span.completed').count());
      if (!midRunShot && status === 'running' && completedRounds.at(-1)! >= 1 && (await card.locator('.tasks .bar').count()) > 0) {
        await screenshot(page, '2-job-running');
        midRunShot = true;
      }
      if (status !== 'running') break;
      await page.waitForTimeout(200);
    }
    const job = await waitForJob(coordinator, jobId, 10_000);
    assert.equal(job.status, 'completed', JSON.stringify(job.rounds.at(-1)));
    assert.equal(completedRounds.at(-1), 3, 'local-baselines, federated-1 and evaluate');
    assert.ok(new Set(completedRounds).size >= 3, `saw completed rounds ${[...new Set(completedRounds)].join(',')}: progress did not advance live`);
    for (let i = 1; i < completedRounds.length; i++) assert.ok(completedRounds[i]! >= completedRounds[i - 1]!, 'progress went backwards');
    assert.ok(midRunShot, 'never saw the running job with its per-site progress bars');
    await screenshot(page, '3-job-done');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('opens the cross-site heat map and the self-contained report', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors = watchPageErrors(page);
    await signIn(page, coordinator.url, coordinator.token);
    await page.goto(`${coordinator.url}/console/#results/${jobId}`);
    await page.waitForSelector('[data-figure=cross-site-dice] svg g.mark-rect.role-mark path');
    const cells = await page.locator('[data-figure=cross-site-dice] svg g.mark-rect.role-mark path').count();
    // 3 models (federated, local:north, local:south) x 2 test sites x 2 structures.
    assert.equal(cells, 12);
    const labels = await page.locator('[data-figure=cross-site-dice] svg').first().textContent();
    for (const word of ['north', 'south', 'federated', 'bloodpool', 'myocardium']) assert.ok(labels!.includes(word), `heat map lacks ${word}`);
    await page.waitForSelector('[data-figure=learning-curves] svg');
    await page.waitForSelector('[data-figure=centre-comparison] svg');
    await screenshot(page, '4-results');

    // "Open report" is the report's own console URL, not a blob: it can be bookmarked and shared.
    assert.equal(await page.getAttribute('#open-report', 'href'), `#report/${jobId}`);
    await page.click('#open-report');
    await page.waitForURL(`${coordinator.url}/console/#report/${jobId}`);
    assert.equal(await page.textContent('#h-report'), 'Report: small FedAvg');
    assert.equal(await page.getAttribute('#report-frame', 'sandbox'), 'allow-same-origin', 'no scripts in the report frame');
    const report = page.frameLocator('#report-frame');
    await report.locator('#cross-site-dice img').waitFor();
    const images = await report.locator('section.figure img').evaluateAll((imgs) => imgs.map((i) => i as unknown as { src: string; naturalWidth: number }).map((i) => ({ src: i.src.slice(0, 26), width: i.naturalWidth })));
    assert.ok(images.length >= 3);
    for (const img of images) {
      assert.equal(img.src, 'data:image/svg+xml;base64,');
      assert.ok(img.width > 100, 'embedded plot did not render');
    }
    await screenshot(page, '5-report');
    await page.click('nav a[data-view=jobs]');
    assert.equal(await page.getAttribute(`article.job[data-job="${jobId}"] a[data-action=report]`, 'href'), `#report/${jobId}`);
    assert.deepEqual(errors, []);
    await page.close();

    // The URL opened in a browser holding no token: sign in, and the report is there.
    const shared = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const sharedErrors = watchPageErrors(shared);
    shared.setDefaultTimeout(120_000);
    await shared.goto(`${coordinator.url}/console/#report/${jobId}`);
    await shared.fill('#login-token', viewerToken);
    await shared.press('#login-token', 'Enter');
    await shared.frameLocator('#report-frame').locator('#cross-site-dice img').waitFor();
    assert.equal(await shared.title(), 'Report: small FedAvg · lgefed console');
    assert.deepEqual(sharedErrors, []);
    await shared.close();
  });

  it('keeps the sign-in for every tab until Sign out; a refused token (401) clears it and shows the login form', async () => {
    const tabToken = (await cli('coordinator', 'token', '--state', join(root, 'coordinator'), '--subject', 'tabs', '--role', 'admin')).stdout.trim();
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const first = await context.newPage();
    const errors = watchPageErrors(first);
    first.setDefaultTimeout(120_000);
    await first.goto(`${coordinator.url}/console/`);
    await first.fill('#login-token', tabToken);
    await first.press('#login-token', 'Enter'); // Enter submits
    await first.waitForSelector('#app:not([hidden])');
    assert.equal(await first.evaluate("localStorage.getItem('lgefed.token')"), tabToken);

    // A new tab of the same origin is signed in without asking.
    const second = await context.newPage();
    second.setDefaultTimeout(120_000);
    await second.goto(`${coordinator.url}/console/#jobs`);
    await second.waitForSelector('#app:not([hidden])');
    assert.equal(await second.isVisible('#login'), false);
    assert.match((await second.textContent('#who'))!, /^tabs \(admin\)/);

    // Sign out is visible, clears the token and this tab asks again; so does the other tab.
    assert.equal(await second.isVisible('#logout'), true);
    await second.click('#logout');
    await second.waitForSelector('#login:not([hidden])');
    assert.equal(await second.evaluate("localStorage.getItem('lgefed.token')"), null);
    await first.waitForSelector('#login:not([hidden])');

    // Signed in again, then the token is revoked: the next request's 401 signs this tab out.
    await first.fill('#login-token', tabToken);
    await first.click('#login-form button[type=submit]');
    await first.waitForSelector('#live-state.on'); // fully started: its first requests are answered
    const revoked = await coordinator.api('POST', '/api/admin-tokens/revoke', { token: tabToken, reason: 'console test' });
    assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
    await first.evaluate(`location.hash = '#results/${jobId}'`);
    await first.waitForSelector('#login:not([hidden])');
    assert.match((await first.textContent('#login-error'))!, /signed out \(unauthenticated: admin token revoked\): sign in again/);
    assert.equal(await first.evaluate("localStorage.getItem('lgefed.token')"), null);
    assert.equal(await first.isVisible('#app'), false);
    // The other tab (reloaded when the token went, or refused itself first) says why as well.
    await second.waitForSelector('#login:not([hidden])');
    assert.match((await second.textContent('#login-error'))!, /signed out \(unauthenticated: admin token revoked\): sign in again/);
    // The 401 itself is the expected answer here; nothing else may have failed.
    assert.deepEqual(errors.filter((e) => !/^HTTP 401: .*\/api\/jobs\//.test(e)), []);
    await context.close();
  });

  it('issues an enrolment kit and revokes a site from the Sites page, after a confirmation; a viewer has neither', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors = watchPageErrors(page);
    await signIn(page, coordinator.url, coordinator.token);
    await page.click('#enrol-panel summary');
    await page.getByLabel('Site name').fill('east');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#enrol-form button[type=submit]')]);
    assert.equal(download.suggestedFilename(), 'east-kit.json');
    const kit = JSON.parse(await readFile((await download.path())!, 'utf8')) as Record<string, string>;
    assert.equal(kit['format'], 'lgefed-startup-kit/1');
    assert.equal(kit['siteName'], 'east');
    assert.equal(kit['coordinatorUrl'], coordinator.url);
    assert.ok(kit['enrolmentToken']!.length > 20);
    assert.match((await page.textContent('#enrol-done'))!, /^Startup kit for east downloaded as east-kit\.json/);
    await page.waitForSelector('article.site[data-site=east][data-state=pending]');
    assert.equal(await page.textContent('#sites-online'), '2/3');
    const audited = await coordinator.api('GET', '/api/audit?limit=5000');
    assert.ok(audited.body.some((e: { type: string; actor: string; details: { name?: string } }) => e.type === 'site.enrolment_issued' && e.actor === 'admin:test'));
    // The kit's token enrols the site: the coordinator pins the key it is given.
    const enrolled = await fetch(`${coordinator.url}/api/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: kit['enrolmentToken'], publicKey: { kty: 'OKP', crv: 'Ed25519', x: Buffer.alloc(32, 7).toString('base64url') } }),
    });
    assert.equal(enrolled.status, 200, await enrolled.clone().text());
    assert.equal(((await enrolled.json()) as { siteName: string }).siteName, 'east');
    // A name already enrolled is refused, with the coordinator's reason.
    await page.getByLabel('Site name').fill('north');
    await page.click('#enrol-form button[type=submit]');
    await page.waitForFunction("document.querySelector('#enrol-error').textContent.startsWith('site_already_enrolled')");

    // Revoking asks first: keeping the site changes nothing; confirming revokes it.
    await page.click('article.site[data-site=east] button[data-action=revoke]');
    await page.waitForSelector('#revoke-dialog[open]');
    assert.match((await page.textContent('#revoke-what'))!, /^Revoke east\?/);
    await page.click('#revoke-dialog button[value=cancel]');
    await page.waitForSelector('#revoke-dialog', { state: 'hidden' });
    const sitesNow = async () => (await coordinator.api('GET', '/api/sites')).body as { name: string; status: string; revokedReason: string | null }[];
    assert.equal((await sitesNow()).find((s) => s.name === 'east')!.status, 'enrolled');
    await page.click('article.site[data-site=east] button[data-action=revoke]');
    await page.fill('#revoke-reason', 'test site retired');
    await page.click('#revoke-dialog button[value=confirm]');
    await page.waitForSelector('article.site[data-site=east][data-state=revoked]');
    const east = (await sitesNow()).find((s) => s.name === 'east')!;
    assert.deepEqual([east.status, east.revokedReason], ['revoked', 'test site retired']);
    assert.equal(await page.locator('article.site[data-site=east] button[data-action=revoke]').count(), 0);
    // A revoked site leaves the summary's counts.
    assert.equal(await page.textContent('#sites-online'), '2/2');
    await screenshot(page, '1c-sites-enrol-revoke');
    assert.deepEqual(errors.filter((e) => !/^HTTP 409: .*\/api\/sites\/north\/enrolment$/.test(e)), []);
    await page.close();

    const viewer = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await signIn(viewer, coordinator.url, viewerToken);
    await viewer.waitForSelector('article.site[data-site=north]');
    assert.equal(await viewer.isVisible('#enrol-panel'), false);
    assert.equal(await viewer.locator('button[data-action=revoke]').count(), 0);
    await viewer.close();
  });

  it('lets an admin re-run and cancel from the page; a viewer sees no controls and is refused by the API', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await signIn(page, coordinator.url, coordinator.token);
    await page.click('nav a[data-view=jobs]');
    await page.click(`article.job[data-job="${jobId}"] button[data-action=rerun]`);
    await page.waitForFunction("document.querySelectorAll('article.job').length === 2");
    const rerunId = (await page.getAttribute('article.job[data-status=running]', 'data-job'))!;
    assert.notEqual(rerunId, jobId);
    await page.click(`article.job[data-job="${rerunId}"] button[data-action=cancel]`);
    await page.waitForSelector(`article.job[data-job="${rerunId}"][data-status=cancelled]`);
    const { body } = await coordinator.api('GET', `/api/jobs/${rerunId}`);
    assert.equal(body.status, 'cancelled');
    assert.match(body.failure, /cancelled by admin:test/);
    await page.close();

    const viewer = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await signIn(viewer, coordinator.url, viewerToken);
    await viewer.click('nav a[data-view=jobs]');
    await viewer.waitForSelector('article.job');
    assert.equal(await viewer.isVisible('#submit-panel'), false);
    assert.equal(await viewer.locator('button[data-action=cancel], button[data-action=rerun]').count(), 0);
    await screenshot(viewer, '6-viewer-jobs');
    await viewer.click('nav a[data-view=audit]');
    await viewer.fill('#audit-filter', 'job.cancelled');
    await viewer.waitForFunction("document.querySelectorAll('#audit-rows tr').length === 1");
    await screenshot(viewer, '7-audit-filtered');
    await viewer.close();

    const asViewer = (method: string, path: string, body?: unknown) =>
      fetch(`${coordinator.url}${path}`, { method, headers: { authorization: `Bearer ${viewerToken}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    assert.equal((await asViewer('POST', '/api/jobs', { kind: 'fedavg', spec: {} })).status, 403);
    assert.equal((await asViewer('POST', `/api/jobs/${jobId}/cancel`)).status, 403);
    assert.equal((await asViewer('POST', `/api/jobs/${jobId}/rerun`)).status, 403);
    assert.equal((await asViewer('GET', `/api/jobs/${jobId}/figures`)).status, 200);
  });

  it('serves the terminal: lgefed admin sites|jobs|results|audit', async () => {
    const auth = ['--url', coordinator.url, '--token', viewerToken];
    const sitesOut = await cli('admin', 'sites', ...auth);
    assert.equal(sitesOut.code, 0, sitesOut.stderr);
    assert.match(sitesOut.stdout, /^north\s+enrolled\s+yes\s/m);
    assert.match(sitesOut.stdout, /^south\s+enrolled\s+yes\s/m);
    const watched = await cli('admin', 'jobs', '--watch', jobId, ...auth);
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stderr, /█{24} completed round 3\/3/);
    const results = await cli('admin', 'results', '--job', jobId, '--format', 'csv', '--figure', 'cross-site-dice', ...auth);
    assert.equal(results.code, 0, results.stderr);
    assert.match(results.stdout, /^structure,model,testSite,mean,sd,n,ciLow,ciHigh\n/, 'stdout is the CSV alone');
    assert.match(results.stderr, /# Cross-site Dice/);
    const audit = await cli('admin', 'audit', '--type', 'job.cancelled', ...auth);
    assert.equal(audit.code, 0, audit.stderr);
    assert.equal(audit.stdout.trim().split('\n').length, 3, audit.stdout);
    // Jobs by name: listed with it, and accepted wherever a job id is (one job of that name only).
    const listed = await cli('admin', 'jobs', ...auth);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^id\s+name\s+kind\s+status/);
    assert.match(listed.stdout, new RegExp(`^${jobId}\\s+small FedAvg\\s+fedavg\\s+completed\\s`, 'm'));
    const ambiguous = await cli('admin', 'results', '--job', 'small FedAvg', ...auth); // the job and its cancelled re-run
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /\[job_ambiguous\] 2 jobs are named "small FedAvg"; give one of their ids: /);
    assert.ok(ambiguous.stderr.includes(jobId), ambiguous.stderr);
    const unknown = await cli('report', '--job', 'no such job', '--out', join(root, 'no-report'), ...auth);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /\[job_unknown\] no job has the id or name "no such job"/);
    const once = await coordinator.api('POST', '/api/jobs', { kind: 'fedavg', spec: { ...formSpec, name: 'named once' } });
    assert.equal(once.status, 200, JSON.stringify(once.body));
    const cancelled = await cli('admin', 'jobs', '--cancel', 'named once', '--url', coordinator.url, '--token', coordinator.token);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(cancelled.stdout.trim(), `job “named once” (${once.body.id}) cancelled`);
    const one = await cli('admin', 'jobs', '--job', 'named once', ...auth);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(one.stdout.trim().split('\n').slice(2).map((l) => l.split(/\s{2,}/).slice(0, 4)), [[once.body.id, 'named once', 'fedavg', 'cancelled']]);
    const byName = await cli('admin', 'results', '--job', 'named once', ...auth);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, new RegExp(`^fedavg “named once” ${once.body.id}: cancelled`));
    const reported = await cli('report', '--job', 'named once', '--out', join(root, 'named-report'), ...auth);
    assert.equal(reported.code, 0, reported.stderr);
    assert.match(reported.stdout, new RegExp(`^report for fedavg job “named once” ${once.body.id} \\(cancelled\\)`));
    const refused = await cli('admin', 'jobs', '--cancel', jobId, ...auth);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /forbidden/);
    const noToken = await cli('admin', 'sites', '--url', coordinator.url);
    assert.equal(noToken.code, 2);
  });

  it('writes the report with lgefed report: HTML with embedded plots plus CSV/JSON per figure', async () => {
    const out = join(root, 'report');
    const result = await cli('report', '--job', jobId, '--out', out, '--url', coordinator.url, '--token', viewerToken);
    assert.equal(result.code, 0, result.stderr);
    const html = await readFile(join(out, 'index.html'), 'utf8');
    assert.match(html, /data:image\/svg\+xml;base64,/);
    assert.doesNotMatch(html, /(src|href)="https?:/, 'the report must not reference anything online');
    const csv = (await readFile(join(out, 'figures', 'cross-site-dice.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv[0], 'structure,model,testSite,mean,sd,n,ciLow,ciHigh');
    assert.equal(csv.length, 13);
    const json = JSON.parse(await readFile(join(out, 'figures', 'learning-curves.json'), 'utf8')) as { rows: { series: string; step: number }[] };
    assert.deepEqual([...new Set(json.rows.map((r) => `${r.series}@${r.step}`))].sort(), ['all sites (case-weighted)@1', 'north@1', 'south@1']);
  });

  it('compares two runs of the same kind side by side: their cross-site Dice and learning curves', async () => {
    // A second completed FedAvg run: the first job again.
    const rerun = await coordinator.api('POST', `/api/jobs/${jobId}/rerun`);
    assert.equal(rerun.status, 200, JSON.stringify(rerun.body));
    const second = rerun.body.id as string;
    assert.equal((await waitForJob(coordinator, second, 800_000)).status, 'completed');

    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const errors = watchPageErrors(page);
    await signIn(page, coordinator.url, viewerToken);
    await page.goto(`${coordinator.url}/console/#results/${jobId}`);
    await page.waitForSelector('#compare-label:not([hidden])');
    // Only completed runs of the same kind: not the cancelled re-run, not the cancelled "named once".
    const offered = await page.locator('#results-compare option').evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value));
    assert.deepEqual(offered, ['', second]);
    await page.selectOption('#results-compare', second);
    await page.waitForURL(`${coordinator.url}/console/#results/${jobId}/vs/${second}`);
    for (const id of [jobId, second]) {
      const cells = page.locator(`[data-compare=cross-site-dice] [data-job="${id}"] svg g.mark-rect.role-mark path`);
      await cells.first().waitFor();
      assert.equal(await cells.count(), 12, 'federated, local:north and local:south at both sites, both structures');
      await page.waitForSelector(`[data-compare=learning-curves] [data-job="${id}"] svg`);
    }
    // Side by side: the two heat maps share a row.
    const boxes = await Promise.all([jobId, second].map((id) => page.locator(`[data-compare=cross-site-dice] [data-job="${id}"]`).boundingBox()));
    assert.ok(boxes[0] && boxes[1] && Math.abs(boxes[0].y - boxes[1].y) < 2 && boxes[1].x > boxes[0].x + boxes[0].width - 1, JSON.stringify(boxes));
    await screenshot(page, '8-compare');

    // The comparison has its own URL: opened afresh, it shows the same pair.
    await page.goto(`${coordinator.url}/console/#sites`);
    await page.goto(`${coordinator.url}/console/#results/${jobId}/vs/${second}`);
    await page.waitForSelector(`[data-compare=cross-site-dice] [data-job="${second}"] svg`);
    assert.equal(await page.inputValue('#results-compare'), second);
    // Choosing no other run clears it.
    await page.selectOption('#results-compare', '');
    await page.waitForFunction("document.querySelector('#compare').children.length === 0");
    assert.deepEqual(errors, []);
    await page.close();
  });
});

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PROTO_FILE } from '@lgefed/protocol';
import { startCoordinator, type RunningCoordinator } from '@lgefed/coordinator/server';
import { decodeWeights, encodeWeights } from '@lgefed/protocol/weights-file';
import { ARCH, LAYOUT, PARAMS } from '../coordinator/federation-harness.js';

const PYTHON = '/usr/bin/python3';
const SITE_SCRIPT = fileURLToPath(new URL('../../python/conformance_site.py', import.meta.url));

interface PythonReport {
  readonly siteId: string;
  readonly refusedWrongDigest: string;
  readonly rounds: readonly { round: number; downloadedChunks: number; downloadedDtype: string; uploadedChunks: number }[];
}

/**
 * Issue 13 (interoperability): a site agent written in Python from the .proto and the envelope's
 * description alone — protoc's classes, python3-jwcrypto's Ed25519 JWS, python3-socketio — enrols,
 * says hello, downloads each round's model in chunks, uploads its weights in its own chunking and
 * sends TrainResults to a real coordinator. A protocol only our own encoder can speak is not one.
 */
describe('protocol: an independent Python site speaks it end to end (issue 13, interoperability)', function () {
  this.timeout(120_000);
  let dir = '';
  let coordinator: RunningCoordinator;

  before(async function () {
    const missing = spawnSync(PYTHON, ['-c', 'import google.protobuf, jwcrypto, socketio, websocket'], { encoding: 'utf8' });
    assert.equal(missing.status, 0, `the conformance site needs python3-protobuf python3-jwcrypto python3-socketio python3-websocket (.ci/run installs them): ${missing.stderr}`);
    dir = await mkdtemp(join(tmpdir(), 'lgefed-python-site-'));
    const protoc = spawnSync('protoc', [`--python_out=${dir}`, `--proto_path=${dirname(PROTO_FILE)}`, PROTO_FILE], { encoding: 'utf8' });
    assert.equal(protoc.status, 0, protoc.stderr);
    coordinator = await startCoordinator({ stateDir: join(dir, 'state'), port: 0 });
  });

  after(async () => {
    await coordinator?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('enrols, trains two FedAvg rounds and has its weights aggregated, and is refused a TrainResult quoting a manifest it never sent', async () => {
    // Values float16 holds exactly, so the check below is exact whichever precision the models travel in.
    const start = Float32Array.from({ length: PARAMS }, (_, i) => (i % 17) * 0.25 - 2);
    const startHash = await coordinator.state.models.put(encodeWeights(LAYOUT, start));
    coordinator.state.jobs.registerModel(startHash, ARCH, PARAMS, 'test');
    const kit = coordinator.state.sites.createEnrolment('python', 60_000, 'admin');

// `--name=value`: a base64url token may start with '-', which argparse would take for an option.
    const site = spawn(PYTHON, [SITE_SCRIPT, '--url', coordinator.url, `--token=${kit.token}`, `--coordinator-key=${JSON.stringify(coordinator.state.key.publicJwk)}`, '--proto-dir', dir, '--cases', '4', '--rounds', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    site.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => site.on('exit', resolve));
    const lines = createInterface({ input: site.stdout })[Symbol.asyncIterator]();

    const ready = await lines.next();
    assert.match(String(ready.value), /^READY /, `the Python site did not enrol: ${stderr}`);
    const job = await coordinator.engine.submit('fedavg', { sites: ['python'], rounds: 2, architecture: ARCH, initialModel: startHash, compareWithLocal: false }, 'admin');
    const result = await lines.next();
    assert.equal(await exited, 0, `the Python site failed: ${stderr}`);
    const report = JSON.parse(String(result.value)) as PythonReport;

    assert.equal(report.siteId, kit.site.id);
    assert.match(report.refusedWrongDigest, /^ErrorReport .*quotes another manifest/);
    assert.deepEqual(report.rounds.map((r) => r.round), [0, 1], "the job's two rounds, in order");
    for (const round of report.rounds) assert.ok(round.downloadedChunks >= 1 && round.uploadedChunks > 1, JSON.stringify(round));

    const done = coordinator.state.jobs.job(job.id);
    assert.equal(done.status, 'completed', done.failure ?? '');
    // Round 1 trains the start model, round 2 the round-1 aggregate: w -> 2(2w + 1) + 1.
    const final = decodeWeights(await readFile(coordinator.state.models.path((done.summary as { finalModel: string }).finalModel))).parameters;
    assert.equal(final.length, PARAMS);
    start.forEach((w, i) => assert.equal(final[i], 4 * w + 3, `parameter ${i}`));
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultMessage, generateKeyPair, importPrivateJwk, importPublicJwk, PROTOCOL_VERSION, ReplayCache, Signer, Verifier, type Envelope } from '@lgefed/protocol';
import { io, type Socket } from 'socket.io-client';
import { cli, prepareSite, startAgent, startCoordinatorProcess, TINY_ARCH, waitForJob, type Proc, type RunningCoordinatorProcess } from './harness.js';

const hello = (siteId: string) => ({
  siteId,
  agentVersion: 'test',
  protocolVersion: PROTOCOL_VERSION,
  capabilities: { mlBackend: 'ML_BACKEND_TFJS_CPU' as const, gpus: [], memoryMib: 1, cpuCores: 1 },
  datasets: [],
});

describe('enrolment, revocation, policy and message security over the wire', function () {
  this.timeout(120_000);
  let root = '';
  let state = '';
  let coordinator: RunningCoordinatorProcess;
  const procs: Proc[] = [];

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lgefed-sec-'));
    state = join(root, 'coordinator');
    coordinator = await startCoordinatorProcess(state);
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await coordinator?.proc.kill();
    await rm(root, { recursive: true, force: true });
  });

  const rejections = async (code: string) => ((await coordinator.api('GET', '/api/audit?limit=5000')).body as { type: string; details: { code: string } }[]).filter((e) => e.type === 'transport.rejected' && e.details.code === code);

  it('enrols with a good token once; the same token again is refused as used', async () => {
    const site = await prepareSite(root, state, 'reuse', 1);
    const first = startAgent(site);
    procs.push(first);
    await first.waitFor(/connected to /);
    const again = join(site.dir, 'site-copy.json');
    const config = JSON.parse(await readFile(site.config, 'utf8')) as Record<string, unknown>;
    await writeFile(again, JSON.stringify({ ...config, stateDir: 'other-state' }));
    const second = startAgent({ ...site, config: again });
    assert.equal(await second.exited, 1);
    assert.match(second.output, /\[enrolment_failed\].*\[token_used\]/);
  });

  it('refuses an expired token', async () => {
    const site = await prepareSite(root, state, 'late', 2);
    const kit = JSON.parse(await readFile(site.kit, 'utf8')) as Record<string, unknown>;
    const expired = await cli('coordinator', 'enroll', '--state', state, '--site', 'late', '--ttl-hours', '0.0001', '--out', site.kit);
    assert.equal(expired.code, 0);
    assert.notEqual(JSON.parse(await readFile(site.kit, 'utf8')).enrolmentToken, kit['enrolmentToken']);
    await new Promise((r) => setTimeout(r, 600));
    const agent = startAgent(site);
    assert.equal(await agent.exited, 1);
    assert.match(agent.output, /\[token_expired\]/);
  });

  it('drops a revoked site at its next message and refuses it at every reconnect', async () => {
    const site = await prepareSite(root, state, 'revoked', 3);
    const agent = startAgent(site);
    procs.push(agent);
    await agent.waitFor(/connected to /);
    assert.equal((await cli('coordinator', 'revoke', '--state', state, '--site', 'revoked', '--reason', 'test')).code, 0);
    await agent.waitFor(/disconnected/);
    const entry = ((await coordinator.api('GET', '/api/sites')).body as { name: string; status: string; presence: { connected: boolean } }[]).find((s) => s.name === 'revoked')!;
    assert.equal(entry.status, 'revoked');
    assert.ok((await rejections('site_revoked')).length >= 1);
  });

  it('excludes a site that refuses a task by local policy, with the typed reason', async () => {
    const site = await prepareSite(root, state, 'careful', 4, { allowedTaskKinds: ['evaluate'] });
    const agent = startAgent(site);
    procs.push(agent);
    await agent.waitFor(/connected to /);
    const submitted = await coordinator.api('POST', '/api/jobs', { kind: 'train', spec: { site: 'careful', architecture: TINY_ARCH, config: { epochs: 1, seed: 1 } } });
    assert.equal(submitted.status, 200, JSON.stringify(submitted.body));
    const job = await waitForJob(coordinator, submitted.body.id);
    assert.equal(job.status, 'failed');
    assert.match(JSON.stringify(job.rounds[0].outcome), /policy_task_kind/);
    assert.match(agent.output, /refused task .*policy_task_kind/);
  });

  describe('a hand-driven site connection', () => {
    let siteId = '';
    let signer: Signer;
    let verifier: Verifier;
    let socket: Socket;

    before(async () => {
      const site = await prepareSite(root, state, 'manual', 5);
      const kit = JSON.parse(await readFile(site.kit, 'utf8')) as { siteId: string; enrolmentToken: string; coordinatorPublicKey: unknown };
      siteId = kit.siteId;
      const pair = await generateKeyPair();
      const res = await fetch(`${coordinator.url}/api/enrol`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: kit.enrolmentToken, publicKey: pair.publicJwk }) });
      assert.equal(res.status, 200);
      signer = new Signer(await importPrivateJwk(pair.privateJwk));
      verifier = new Verifier({ senders: [{ id: 'coordinator', key: await importPublicJwk(kit.coordinatorPublicKey) }], replayCache: new ReplayCache() });
    });
    afterEach(() => socket?.disconnect());

    const connect = async () => {
      socket = io(coordinator.url, { transports: ['websocket'], reconnection: false });
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
      return socket;
    };
    const send = async (envelope: Envelope) => verifier.openAny(await socket.timeout(10_000).emitWithAck('envelope', envelope));
    /** Before a verified hello the coordinator answers nothing: it only drops the connection. */
    const unanswered = async (envelope: Envelope) => {
      await assert.rejects(socket.timeout(500).emitWithAck('envelope', envelope));
      await disconnected();
    };
    const disconnected = () => new Promise<void>((r) => (socket.connected ? socket.once('disconnect', () => r()) : r()));

    it('accepts a correctly signed hello and answers with a signed Enrolment', async () => {
      await connect();
      const reply = await send(await signer.seal('SiteHello', hello(siteId)));
      assert.equal(reply.header.msg, 'Enrolment');
      assert.equal((reply.message as { accepted: boolean }).accepted, true);
    });

    it('drops a hello signed by an unpinned (forged) key, unanswered', async () => {
      await connect();
      const forger = new Signer(await importPrivateJwk((await generateKeyPair()).privateJwk));
      await unanswered(await forger.seal('SiteHello', hello(siteId)));
      assert.ok((await rejections('UNKNOWN_SENDER')).length >= 1);
    });

    it('drops a tampered hello (payload changed after signing), unanswered', async () => {
      await connect();
      const [header, payload, signature] = (await signer.seal('SiteHello', hello(siteId))).split('.') as [string, string, string];
      const bytes = Buffer.from(payload, 'base64url');
      bytes[bytes.length - 1] ^= 1;
      await unanswered(`${header}.${bytes.toString('base64url')}.${signature}`);
      assert.ok((await rejections('BAD_SIGNATURE')).length >= 1);
    });

    it('refuses a tampered message after the hello with a signed reply', async () => {
      await connect();
      assert.equal((await send(await signer.seal('SiteHello', hello(siteId)))).header.msg, 'Enrolment');
      const [header, payload, signature] = (await signer.seal('Heartbeat', { ...defaultMessage('Heartbeat'), siteId })).split('.') as [string, string, string];
      const bytes = Buffer.from(payload, 'base64url');
      bytes[bytes.length - 1] ^= 1;
      const reply = await send(`${header}.${bytes.toString('base64url')}.${signature}`);
      assert.equal((reply.message as { code: string }).code, 'ERROR_CODE_BAD_SIGNATURE');
      await disconnected();
    });

    it('rejects a replayed message', async () => {
      await connect();
      const envelope = await signer.seal('SiteHello', hello(siteId));
      assert.equal((await send(envelope)).header.msg, 'Enrolment');
      const reply = await send(envelope);
      assert.equal((reply.message as { code: string }).code, 'ERROR_CODE_REPLAY');
      await disconnected();
      assert.ok((await rejections('REPLAY')).length >= 1);
    });

    it('refuses an agent of protocol version 1, which would ignore the scoring passes a task asks for', async () => {
      await connect();
      const reply = await send(await signer.seal('SiteHello', { ...hello(siteId), protocolVersion: 1 }));
      assert.equal(reply.header.msg, 'ErrorReport', JSON.stringify(reply.message));
      assert.match((reply.message as { message: string }).message, new RegExp(`protocol version 1 is not supported \\(${PROTOCOL_VERSION}\\)`));
      await disconnected();
      const audit = (await coordinator.api('GET', '/api/audit?limit=5000')).body as { type: string; details: { code: string } }[];
      assert.ok(audit.some((e) => e.type === 'transport.refused' && e.details.code === 'protocol_version'));
    });

    it('drops anything before the hello, unanswered', async () => {
      await connect();
      await unanswered(await signer.seal('Heartbeat', { ...defaultMessage('Heartbeat'), siteId }));
      assert.ok((await rejections('hello_required')).length >= 1);
    });
  });
});

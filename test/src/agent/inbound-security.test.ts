import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, importPrivateJwk, importPublicJwk, PROTOCOL_VERSION, ReplayCache, Signer, Verifier, type AgentToCoordinatorEvents, type CoordinatorToAgentEvents, type Envelope } from '@lgefed/protocol';
import { readAgentAudit } from '@lgefed/site-agent/audit-log';
import { Server, type Socket } from 'socket.io';
import { spawnCli, TINY_ARCH_HASH, writeTinyDataset, type Proc } from '../federation/harness.js';

/**
 * The agent end of message security: a stand-in coordinator (socket.io, its own key pinned in the
 * kit) sends the real agent process forged, tampered and replayed envelopes.
 */
describe('site agent: inbound message verification (real agent process)', function () {
  this.timeout(60_000);
  let dir = '';
  let http: HttpServer;
  let io: Server<AgentToCoordinatorEvents, CoordinatorToAgentEvents>;
  let agent: Proc;
  let signer: Signer;
  let agentVerifier: Verifier;
  let site: Socket<AgentToCoordinatorEvents, CoordinatorToAgentEvents>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lgefed-agent-'));
    await writeTinyDataset(join(dir, 'data'), 4, 1);
    const coordinatorPair = await generateKeyPair();
    signer = new Signer(await importPrivateJwk(coordinatorPair.privateJwk));
    let agentKey: unknown;
    http = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        agentKey = (JSON.parse(body) as { publicKey: unknown }).publicKey;
        res.setHeader('content-type', 'application/json').end(JSON.stringify({ siteId: 'site-x', siteName: 'x', status: 'enrolled' }));
      });
    });
    io = new Server(http);
    const connected = new Promise<void>((resolve) =>
      io.on('connection', (socket) => {
        site = socket;
        socket.on('envelope', async (envelope, reply) => {
          agentVerifier ??= new Verifier({ senders: [{ id: 'site-x', key: await importPublicJwk(agentKey) }], replayCache: new ReplayCache() });
          const opened = await agentVerifier.openAny(envelope);
          if (opened.header.msg === 'SiteHello') {
            reply(await signer.seal('Enrolment', { siteId: 'site-x', accepted: true, reason: '', coordinatorVersion: 'test', protocolVersion: PROTOCOL_VERSION, heartbeatIntervalS: 30 }, 'site-x'));
            resolve();
          } else reply(await signer.seal('Ack', { messageId: opened.header.jti }, 'site-x'));
        });
      }),
    );
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    await writeFile(join(dir, 'kit.json'), JSON.stringify({ format: 'lgefed-startup-kit/1', coordinatorUrl: url, coordinatorPublicKey: coordinatorPair.publicJwk, siteId: 'site-x', siteName: 'x', enrolmentToken: 'token', tokenExpiresAt: new Date(Date.now() + 60_000).toISOString() }));
    await writeFile(join(dir, 'site.json'), JSON.stringify({ stateDir: 'state', datasets: [{ name: 'lge', path: 'data' }], backend: 'cpu', policy: { approvedArchitectures: [TINY_ARCH_HASH] } }));
    agent = spawnCli('site', 'start', '--kit', join(dir, 'kit.json'), '--config', join(dir, 'site.json'));
    await connected;
  });
  after(async () => {
    await agent?.kill();
    io?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const send = async (envelope: Envelope) => agentVerifier.openAny(await site.timeout(10_000).emitWithAck('envelope', envelope));
  const codeOf = (reply: Awaited<ReturnType<typeof send>>) => (reply.message as { code?: string }).code;

  it('acknowledges a correctly signed message', async () => {
    assert.equal((await send(await signer.seal('Ack', { messageId: 'x' }, 'site-x'))).header.msg, 'Ack');
  });

  it('refuses a message signed by a key other than the pinned coordinator key', async () => {
    const forger = new Signer(await importPrivateJwk((await generateKeyPair()).privateJwk));
    assert.equal(codeOf(await send(await forger.seal('Ack', { messageId: 'forged' }, 'site-x'))), 'ERROR_CODE_UNKNOWN_SENDER');
  });

  it('refuses a tampered message', async () => {
    const [h, p, s] = (await signer.seal('Ack', { messageId: 'abcd' }, 'site-x')).split('.') as [string, string, string];
    const bytes = Buffer.from(p, 'base64url');
    bytes[bytes.length - 1] ^= 1;
    assert.equal(codeOf(await send(`${h}.${bytes.toString('base64url')}.${s}`)), 'ERROR_CODE_BAD_SIGNATURE');
  });

  it('refuses a replayed message and logs every refusal in its audit log', async () => {
    const envelope = await signer.seal('Ack', { messageId: 'once' }, 'site-x');
    assert.equal((await send(envelope)).header.msg, 'Ack');
    assert.equal(codeOf(await send(envelope)), 'ERROR_CODE_REPLAY');
    const audit = await readAgentAudit(join(dir, 'state', 'audit.jsonl'));
    const refused = audit.filter((e) => e.type === 'inbound.rejected').map((e) => e.note ?? '');
    assert.equal(refused.length, 3);
    assert.match(refused.join('\n'), /unknown_sender[\s\S]*bad_signature[\s\S]*replay/);
    assert.ok(audit.some((e) => e.direction === 'out' && e.type === 'SiteHello'));
  });

  it("refuses a message the coordinator sealed for another site (aud), or for no named site (issue 13, low)", async () => {
    // Validly signed by the pinned coordinator key, never seen here: only its recipient differs.
    assert.equal(codeOf(await send(await signer.seal('Ack', { messageId: 'for-y' }, 'site-y'))), 'ERROR_CODE_REPLAY');
    assert.equal(codeOf(await send(await signer.seal('Ack', { messageId: 'for-nobody' }))), 'ERROR_CODE_REPLAY');
    const refused = (await readAgentAudit(join(dir, 'state', 'audit.jsonl'))).filter((e) => e.type === 'inbound.rejected').map((e) => e.note ?? '');
    assert.match(refused.slice(-2).join('\n'), /wrong_audience[\s\S]*site-y[\s\S]*wrong_audience[\s\S]*no named recipient/);
    assert.equal((await send(await signer.seal('Ack', { messageId: 'for-x' }, 'site-x'))).header.msg, 'Ack');
  });
});

import assert from 'node:assert/strict';
import { startCoordinator, type RunningCoordinator } from '@lgefed/coordinator/server';
import { io, type Socket } from 'socket.io-client';
import { hello, redeem, siteKey, SiteSocket } from './site-socket.js';
import { useTempDir } from './temp-dir.js';

/** Emits and reports whether any reply came within `ms` (an unauthenticated peer must get none). */
async function replied(socket: Socket, event: string, ...args: unknown[]): Promise<boolean> {
  try {
    await socket.timeout(300).emitWithAck(event, ...args);
    return true;
  } catch {
    return false;
  }
}

const raw = async (url: string): Promise<Socket> => {
  const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('connect_error', reject));
  return socket;
};
const gone = (socket: Socket) => new Promise<void>((resolve) => (socket.connected ? socket.once('disconnect', () => resolve()) : resolve()));

describe('coordinator: unauthenticated connections are dropped, counted and rate-limited (issue 13, high 3)', function () {
  this.timeout(60_000);
  const dir = useTempDir();
  let coordinator: RunningCoordinator;
  const sockets: Socket[] = [];
  const open = async () => {
    const s = await raw(coordinator.url);
    sockets.push(s);
    return s;
  };
  const rejected = () => coordinator.state.audit.list({ limit: 100_000 }).filter((e) => e.type.startsWith('transport.rejected'));

  beforeEach(async () => {
    coordinator = await startCoordinator({ stateDir: dir(), port: 0, siteChannel: { admission: { maxConnectionsPerAddress: 4, maxRefusalsPerAddress: 5, windowMs: 1500, helloTimeoutMs: 400 } } });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.disconnect();
    await coordinator.close();
  });

  it('a chunk, an unsigned envelope or any other event before the hello gets no reply and loses the connection', async () => {
    for (const [event, payload] of [['chunk', new Uint8Array(64)], ['envelope', 'not.a.jws'], ['whatever', {}]] as const) {
      const s = await open();
      assert.equal(await replied(s, event, payload), false, `${event}: no signed reply`);
      await gone(s);
    }
    const idle = await open();
    await gone(idle); // no hello within 400 ms
    // Four refusals, two codes: one audit row each; the repeats are only counted.
    assert.deepEqual(rejected().map((e) => (e.details as { code: string }).code), ['hello_required', 'MALFORMED']);
    assert.equal(coordinator.channel!.unauthenticatedRefusals, 4);
  });

  it('a flood costs one audit row per code and window, the rest are counted; a refused address is then dropped unread', async () => {
    const s = await open();
    for (let i = 0; i < 3000; i++) s.emit('chunk', new Uint8Array(16));
    await gone(s);
    for (let i = 0; i < 20; i++) {
      const again = await open();
      again.emit('chunk', new Uint8Array(16));
      await gone(again);
    }
    assert.ok(coordinator.channel!.unauthenticatedRefusals >= 21, `counted ${coordinator.channel!.unauthenticatedRefusals}`);
    const rows = rejected();
    assert.ok(rows.length <= 3, `${rows.length} audit rows: ${JSON.stringify(rows.map((r) => r.details))}`);
    assert.deepEqual(new Set(rows.map((r) => (r.details as { code: string }).code)), new Set(['hello_required', 'rate_limited']));
    // After the window the summary row says how many were not written one by one.
    await new Promise((r) => setTimeout(r, 1700));
    await coordinator.close();
    coordinator = await startCoordinator({ stateDir: dir(), port: 0 });
    const summary = coordinator.state.audit.list({ type: 'transport.rejected_suppressed' });
    assert.equal(summary.length, 1);
    const counts = (summary[0]!.details as { counts: Record<string, number> }).counts;
    assert.equal((counts['hello_required'] ?? 0) + (counts['rate_limited'] ?? 0) + 2, 21);
  });

  it('caps open connections per address, and still serves a site that says a valid hello', async () => {
    const kit = coordinator.state.sites.createEnrolment('dijon', 60_000, 'admin');
    const key = await siteKey();
    await redeem(coordinator.url, kit.token, key.pair.publicJwk);
    const site = await SiteSocket.connect(coordinator.url, coordinator.state.key.publicJwk);
    try {
      assert.equal((await site.send(await key.seal('SiteHello', hello(kit.site.id)))).header.msg, 'Enrolment');
      const held = [await open(), await open(), await open()];
      const fifth = await open();
      await gone(fifth);
      assert.ok(held.every((s) => s.connected), 'the first four (one of them the site) stay');
      assert.ok(site.socket.connected);
      assert.equal((rejected().at(-1)!.details as { code: string }).code, 'too_many_connections');
    } finally {
      site.close();
    }
  });
});

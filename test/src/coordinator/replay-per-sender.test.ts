import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCoordinator, type RunningCoordinator } from '@lgefed/coordinator/server';
import { defaultMessage } from '@lgefed/protocol';
import { dataset, HandSite } from './hand-site.js';

describe('coordinator: each site has its own replay record (issue 13, medium 11)', function () {
  this.timeout(60_000);
  let dir = '';
  let coordinator: RunningCoordinator;
  const sites: HandSite[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lgefed-replay-'));
    coordinator = await startCoordinator({ stateDir: dir, port: 0, siteChannel: { replay: { maxEntriesPerSender: 40 } } });
  });
  after(async () => {
    for (const s of sites) s.close();
    await coordinator?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a site that fills its own record with signed messages is refused and dropped; the other sites are not', async () => {
    const honest = await HandSite.join(coordinator, 'dijon', [dataset(5)]);
    const mallory = await HandSite.join(coordinator, 'mallory', [dataset(5)]);
    sites.push(honest, mallory);
    const heartbeat = (site: HandSite) => site.send('Heartbeat', { ...defaultMessage('Heartbeat'), siteId: site.siteId });
    // 39 more valid, distinct, signed messages after its hello: its record is full of live ids.
    for (let i = 0; i < 39; i++) assert.equal((await heartbeat(mallory)).header.msg, 'Ack');
    const refused = await heartbeat(mallory);
    assert.equal(refused.header.msg, 'ErrorReport');
    assert.match((refused.message as { message: string }).message, /replay cache for .* full \(40 live message ids\)/);
    await mallory.socket.disconnected();
    // With one cache for all senders the honest site's next message would be refused the same way.
    for (let i = 0; i < 5; i++) assert.equal((await heartbeat(honest)).header.msg, 'Ack');
    const rejected = (site: HandSite) => coordinator.state.audit.list({ limit: 1000 }).filter((e) => e.type === 'transport.rejected' && e.actor === `site:${site.siteId}`);
    assert.deepEqual(rejected(mallory).map((e) => (e.details as { code: string; dropped: boolean })).map((d) => [d.code, d.dropped]), [['TOO_LARGE', true]]);
    assert.equal(rejected(honest).length, 0);
  });
});

import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import {
  ModelReassembler,
  defaultMessage,
  packModel,
  wireErrorCode,
  type AgentToCoordinatorEvents,
  type CoordinatorToAgentEvents,
  type Envelope,
} from '@lgefed/protocol';
import { channel, makeParty, sampleMessage } from './fixtures.js';

/** The typed event maps over a real socket.io connection with default limits (1e6-byte messages). */
describe('protocol socket.io event maps', () => {
  it('carry signed envelopes with signed replies, and default-size model chunks', async () => {
    const agentParty = await makeParty();
    const coordinatorParty = await makeParty();
    const toCoordinator = channel(agentParty, { sender: 'site-a' });
    const toAgent = channel(coordinatorParty, { sender: 'coordinator' });

    const http = createServer();
    const server = new Server<AgentToCoordinatorEvents, CoordinatorToAgentEvents>(http);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const tensors = [{ name: 'w', shape: [600_000], data: Float32Array.from({ length: 600_000 }, (_, i) => Math.sin(i)) }];
    const pkg = packModel(tensors, { modelId: 'm', architecture: sampleMessage('ArchitectureSpec') });
    let receiver: ModelReassembler | undefined;

    server.on('connection', (socket) => {
      socket.on('envelope', async (envelope, reply) => {
        const opened = await toCoordinator.verifier.openAny(envelope);
        if (opened.type === 'ModelManifest') receiver = new ModelReassembler(opened.message);
        reply(await toAgent.signer.seal('Ack', { messageId: opened.header.jti }));
      });
      socket.on('chunk', async (frame, reply) => {
        try {
          receiver!.accept(frame);
          reply(await toAgent.signer.seal('Ack', { messageId: `chunk-${receiver!.manifest.transferId}` }));
        } catch (err) {
          const report = { ...defaultMessage('ErrorReport'), code: wireErrorCode(err), message: String(err) };
          reply(await toAgent.signer.seal('ErrorReport', report));
        }
      });
    });

    const client: ClientSocket<CoordinatorToAgentEvents, AgentToCoordinatorEvents> = connect(
      `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
      { transports: ['websocket'] },
    );
    try {
      const send = (event: 'envelope' | 'chunk', body: Envelope | Uint8Array): Promise<Envelope> =>
        new Promise((resolve) => (event === 'envelope' ? client.emit(event, body as Envelope, resolve) : client.emit(event, body as Uint8Array, resolve)));

      // The maps are closed: a misspelt event or a wrong payload does not compile (tsc fails on an unused expectation).
      const typecheckOnly = (): void => {
        // @ts-expect-error no such event
        client.emit('envelopes', 'x', () => undefined);
        // @ts-expect-error an envelope is a JWS string, not bytes
        client.emit('envelope', new Uint8Array(1), () => undefined);
      };
      void typecheckOnly;

      const hello = await toCoordinator.signer.seal('SiteHello', sampleMessage('SiteHello'));
      const helloAck = await toAgent.verifier.open(await send('envelope', hello), 'Ack');
      assert.equal(helloAck.sender, 'coordinator');
      assert.equal(helloAck.message.messageId, JSON.parse(Buffer.from(hello.split('.')[0]!, 'base64url').toString()).jti);

      await toAgent.verifier.open(await send('envelope', await toCoordinator.signer.seal('ModelManifest', pkg.manifest)), 'Ack');
      assert.ok(pkg.chunkCount >= 2);
      for (const frame of pkg.chunks()) {
        assert.ok(frame.byteLength < 1e6);
        await toAgent.verifier.open(await send('chunk', frame), 'Ack');
      }
      assert.deepEqual(receiver!.result()[0]!.data, tensors[0]!.data);

      // A resent chunk is refused with a signed, typed error report.
      const refusal = await toAgent.verifier.open(await send('chunk', pkg.chunk(0)), 'ErrorReport');
      assert.equal(refusal.message.code, 'ERROR_CODE_CHUNK_MISMATCH');
    } finally {
      client.close();
      await server.close();
    }
  });
});

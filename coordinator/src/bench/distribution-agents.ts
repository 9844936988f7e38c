/**
 * Child process for the distribution benchmark: N simulated agents on real loopback connections.
 * `socketio URL N`: socket.io-client agents that reassemble and hash-check a model sent as a
 * @lgefed/protocol manifest + chunk frames, acking each chunk. `tcp PORT N BYTES`: raw TCP
 * sockets that only count bytes (the peer: the loopback ceiling); `tcp-store PORT N BYTES`: the
 * same, each copying the bytes into a model-sized buffer of its own, as any receiver that keeps
 * the model must. Prints its CPU seconds as JSON.
 */
import { decodeMessage, ModelReassembler } from '@lgefed/protocol';
import { connect } from 'node:net';
import { io } from 'socket.io-client';

const [mode, target, countArg, bytesArg] = process.argv.slice(2);
const count = Number(countArg);

function socketAgent(url: string, id: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], forceNew: true, query: { agent: String(id) } });
    let reassembler: ModelReassembler | null = null;
    socket.on('manifest', (manifest: Buffer, ack: () => void) => {
      try {
        reassembler = new ModelReassembler(decodeMessage('ModelManifest', manifest), { maxModelBytes: 2 ** 31 });
        ack();
      } catch (err) {
        reject(err as Error);
      }
    });
    socket.on('chunk', (frame: Buffer, ack: (remaining: number) => void) => {
      if (!reassembler) return reject(new Error('chunk before manifest'));
      const receipt = reassembler!.accept(new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength));
      ack(receipt.remaining);
      if (receipt.remaining === 0) {
        const parameters = reassembler!.result().reduce((n, t) => n + t.data.length, 0);
        socket.emit('complete', parameters, () => {
          socket.close();
          resolve();
        });
      }
    });
    socket.on('connect_error', reject);
  });
}

function tcpAgent(port: number, expected: number, store: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let received = 0;
    const model = store ? Buffer.allocUnsafe(expected) : undefined;
    const socket = connect(port, '127.0.0.1');
    socket.on('data', (data) => {
      model?.set(data.subarray(0, Math.max(0, expected - received)), received);
      received += data.length;
      if (received === expected) socket.end();
    });
    socket.on('close', () => (received === expected ? resolve() : reject(new Error(`got ${received} of ${expected} bytes`))));
    socket.on('error', reject);
  });
}

const agents = Array.from({ length: count }, (_, i) => (mode === 'socketio' ? socketAgent(target!, i) : tcpAgent(Number(target), Number(bytesArg), mode === 'tcp-store')));
Promise.all(agents).then(
  () => {
    // The receivers' CPU time (all agents share this process): where a transfer's time goes.
    const cpu = process.cpuUsage();
    process.stdout.write(`${JSON.stringify({ cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
    process.exit(0);
  },
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);

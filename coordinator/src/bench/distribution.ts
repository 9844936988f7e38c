import { CHUNK_WINDOW, encodeMessage, packModel, sendInWindow, withPageSize, type ModelPackage, type NamedTensor } from '@lgefed/protocol';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { createServer as createTcpServer, type Socket as TcpSocket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Server, type Socket } from 'socket.io';
import { fillParameters, unetLayout } from './model-fixture.js';

export interface DistributionFigures {
  readonly parameters: number;
  readonly modelMB: number;
  readonly agents: number;
  readonly chunkKiB: number;
  /** Whether the agents' process asked glibc for huge pages. */
  readonly hugePages: boolean;
  /** 'shared': every agent in one process (one JavaScript thread); 'own': a process per agent, as sites run. */
  readonly agentProcesses: AgentProcesses;
  /** All agents together, manifest + hash-checked chunks over socket.io (websocket) on loopback. */
  readonly socketIoMBps: number;
  /** The peer: the same bytes over raw TCP sockets on loopback, no framing or hashing. */
  readonly rawTcpMBps: number;
  /** Raw TCP again, each agent copying the bytes into model-sized memory of its own (what holding the model costs). */
  readonly rawTcpStoreMBps: number;
  /** Where the socket.io transfer's time went: wall seconds, and the CPU seconds of the sender and of the agents' processes. */
  readonly socketIo: { readonly seconds: number; readonly senderCpuSeconds: number; readonly agentsCpuSeconds: number };
}

export type AgentProcesses = 'shared' | 'own';

const AGENT_SCRIPT = fileURLToPath(new URL('./distribution-agents.js', import.meta.url));

/** Runs one agents' process (with or without huge pages for what it receives); resolves with its CPU seconds when it exits. */
function startAgentProcess(args: string[], hugePages: boolean): Promise<number> {
  const env = withPageSize(process.env, hugePages);
  const child = spawn(process.execPath, [AGENT_SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return once(child, 'exit').then(([code]) => {
    if (code !== 0) throw new Error(`distribution agents exited with ${code}`);
    return (JSON.parse(output.trim().split('\n').pop()!) as { cpuSeconds: number }).cpuSeconds;
  });
}

/** `agents` agents of `mode` in one process or in a process each; resolves with their CPU seconds in all. */
async function startAgents(mode: string, target: string, agents: number, bytes: number, processes: AgentProcesses, hugePages: boolean): Promise<number> {
  const [count, each] = processes === 'shared' ? [1, agents] : [agents, 1];
  const seconds = await Promise.all(Array.from({ length: count }, () => startAgentProcess([mode, target, String(each), String(bytes)], hugePages)));
  return seconds.reduce((a, b) => a + b, 0);
}

async function sendModel(socket: Socket, pkg: ModelPackage): Promise<number> {
  await socket.timeout(60_000).emitWithAck('manifest', encodeMessage('ModelManifest', pkg.manifest));
  const done = new Promise<number>((resolve) => socket.once('complete', (parameters: number, ack: () => void) => {
    ack();
    resolve(parameters);
  }));
  // The coordinator's window of chunks in flight per site.
  await sendInWindow(Array.from({ length: pkg.chunkCount }, (_, i) => i), CHUNK_WINDOW, async (index) => {
    await socket.timeout(60_000).emitWithAck('chunk', pkg.chunk(index));
  });
  return done;
}

async function overSocketIo(pkg: ModelPackage, agents: number, processes: AgentProcesses, hugePages: boolean): Promise<DistributionFigures['socketIo']> {
  const http = createServer();
  const ioServer = new Server(http, { maxHttpBufferSize: 2 * 1024 * 1024, transports: ['websocket'] });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const sockets: Socket[] = [];
  const allConnected = new Promise<void>((resolve) =>
    ioServer.on('connection', (socket) => {
      sockets.push(socket);
      if (sockets.length === agents) resolve();
    }),
  );
  const children = startAgents('socketio', `http://127.0.0.1:${(http.address() as AddressInfo).port}`, agents, 0, processes, hugePages);
  await allConnected;
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage();
  const received = await Promise.all(sockets.map((s) => sendModel(s, pkg)));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  if (received.some((p) => p !== pkg.manifest.parameterCount)) throw new Error('an agent reassembled the wrong parameter count');
  const agentsCpuSeconds = await children;
  await ioServer.close();
  return { seconds, senderCpuSeconds: (cpu.user + cpu.system) / 1e6, agentsCpuSeconds };
}

async function overRawTcp(tensors: readonly NamedTensor[], agents: number, bytes: number, store: boolean, processes: AgentProcesses, hugePages: boolean): Promise<number> {
  const sockets: TcpSocket[] = [];
  let resolveAll!: () => void;
  const allConnected = new Promise<void>((resolve) => (resolveAll = resolve));
  const server = createTcpServer((socket) => {
    sockets.push(socket);
    if (sockets.length === agents) resolveAll();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const children = startAgents(store ? 'tcp-store' : 'tcp', String((server.address() as AddressInfo).port), agents, bytes, processes, hugePages);
  await allConnected;
  const start = process.hrtime.bigint();
  await Promise.all(
    sockets.map(async (socket) => {
      for (const t of tensors) {
        if (!socket.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength))) await once(socket, 'drain');
      }
      await once(socket, 'close');
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await children;
  server.close();
  return seconds;
}

/**
 * Sends the 31 M-parameter U-Net (or a `parameters`-sized prefix of it) to `agents` agents at once,
 * via @lgefed/protocol over socket.io and over raw TCP; the agents in one process or a process each,
 * with huge pages (@lgefed/protocol's withHugePages) or without (glibc's default 4 KiB pages).
 */
export async function measureDistribution(agents: number, hugePages: boolean, processes: AgentProcesses = 'shared', parameters?: number): Promise<DistributionFigures> {
  const layout = unetLayout(parameters);
  const tensors: NamedTensor[] = layout.tensors.map((t, i) => ({ name: t.name, shape: t.shape, data: fillParameters(new Float32Array(t.shape.reduce((a, b) => a * b, 1)), i) }));
  const pkg = packModel(tensors, {
    modelId: 'bench-unet-paper',
    architecture: { name: 'unet2d', inputChannels: 1, outputClasses: 3, baseFilters: 32, depth: 5, inputHeight: 256, inputWidth: 256, parameterCount: 0, dropout: 0, maxFilters: 0 },
  });
  const bytes = pkg.manifest.parameterCount * 4;
  const socketIo = await overSocketIo(pkg, agents, processes, hugePages);
  const tcpSeconds = await overRawTcp(tensors, agents, bytes, false, processes, hugePages);
  const tcpStoreSeconds = await overRawTcp(tensors, agents, bytes, true, processes, hugePages);
  const mb = bytes / 1e6;
  return {
    parameters: pkg.manifest.parameterCount,
    modelMB: mb,
    agents,
    chunkKiB: pkg.manifest.chunkBytes / 1024,
    hugePages,
    agentProcesses: processes,
    socketIoMBps: (agents * mb) / socketIo.seconds,
    rawTcpMBps: (agents * mb) / tcpSeconds,
    rawTcpStoreMBps: (agents * mb) / tcpStoreSeconds,
    socketIo,
  };
}

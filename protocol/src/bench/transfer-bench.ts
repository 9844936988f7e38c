/**
 * `npm run bench:protocol`: encode + sign + verify + decode of the paper-size U-Net (about 31 M
 * float32 parameters) through the signed manifest + chunk path, in float32 and float16, against the
 * peer approach of sealing every chunk as its own JWS (Ed25519 + base64 over all bytes).
 * Each configuration runs in a fresh child process so its peak RSS is its own. Also measures the
 * machine's ceiling for the manifest path: first-touch writes of a new model's memory and SHA-256.
 * Runs everything with glibc's 4 KiB pages, then with huge pages (huge-pages.ts), each configuration
 * in --rounds N rounds (default 3), one child process per run, and reports medians (the ceiling's too).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CHUNK_BYTES, FRAME_OVERHEAD_BYTES, ModelReassembler, packModel, type NamedTensor, type WireDType } from '../model-transfer.js';
import { Signer, Verifier } from '../envelope.js';
import { HUGE_PAGE_TUNABLE, withPageSize } from '../huge-pages.js';
import { generateKeyPair, importPrivateJwk, importPublicJwk } from '../keys.js';
import { ReplayCache } from '../replay-cache.js';
import { medianRun, roundsFlag } from './rounds.js';
import { decodeMessage, defaultMessage } from '../schema.js';
import type { ArchitectureSpec } from '../messages.generated.js';

const MB = 1e6;
const TARGET_MB_S = 300;
const TARGET_RSS_RATIO = 2.5;
type Mode = 'manifest' | 'jws-per-chunk' | 'two-process';

interface Figures {
  readonly mode: Mode;
  readonly dtype: WireDType;
  readonly parameters: number;
  readonly modelBytes: number;
  readonly wireBytes: number;
  readonly seconds: number;
  /** CPU time of the process (main thread plus V8 helpers): the one-core figure on a shared machine. */
  readonly cpuSeconds: number;
  readonly mbPerS: number;
  readonly mbPerCpuS: number;
  readonly runtimeRssBytes: number;
  readonly peakRssBytes: number;
  readonly baselineRssBytes: number;
  /** Two-process runs: each end's own peak. */
  readonly senderPeakRssBytes?: number;
  readonly receiverPeakRssBytes?: number;
}

/** The 2D U-Net of Ronneberger et al. (64..1024 filters, 3x3 convolutions, 3 output classes): 31.0 M parameters. */
function unetTensors(): NamedTensor[] {
  const tensors: NamedTensor[] = [];
  let seed = 12345;
  const add = (name: string, shape: number[]): void => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    // A local generator state: written to the closure's `seed` every step, each value (not a small
    // integer) would be a new heap number, and the 31 M of them grew the young generation by ~6 MB
    // that the run's peak RSS then counted against the transfer.
    let state = seed;
    for (let i = 0; i < data.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      data[i] = (state / 2 ** 32 - 0.5) * 0.1;
    }
    seed = state;
    tensors.push({ name, shape, data });
  };
  const conv = (name: string, k: number, cin: number, cout: number): void => {
    add(`${name}/kernel`, [k, k, cin, cout]);
    add(`${name}/bias`, [cout]);
  };
  const widths = [64, 128, 256, 512, 1024];
  let cin = 1;
  widths.forEach((w, level) => {
    conv(`down${level}/conv1`, 3, cin, w);
    conv(`down${level}/conv2`, 3, w, w);
    cin = w;
  });
  for (let level = widths.length - 2; level >= 0; level--) {
    const w = widths[level]!;
    conv(`up${level}/upconv`, 2, cin, w);
    conv(`up${level}/conv1`, 3, 2 * w, w);
    conv(`up${level}/conv2`, 3, w, w);
    cin = w;
  }
  conv('head', 1, cin, 3);
  return tensors;
}

function unetArchitecture(parameters: number): ArchitectureSpec {
  return { ...defaultMessage('ArchitectureSpec'), name: 'unet2d', inputChannels: 1, outputClasses: 3, baseFilters: 64, depth: 4, parameterCount: parameters };
}

const peakRss = (): number => process.resourceUsage().maxRSS * 1024;
const cpuSecondsSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

/** Sender end of the two-process run: each message to stdout behind a 4-byte little-endian length. */
async function sendEnd(dtype: WireDType): Promise<void> {
  const signer = new Signer(await importPrivateJwk(JSON.parse(process.env.LGEFED_BENCH_PRIVATE_JWK!)));
  const tensors = unetTensors();
  const parameters = tensors.reduce((n, t) => n + t.data.length, 0);
  const startedMs = Date.now();
  const cpuStarted = process.cpuUsage();
  const pkg = packModel(tensors, { modelId: 'unet', architecture: unetArchitecture(parameters), dtype });
  let wireBytes = 0;
  // Resolves once the bytes are handed to the kernel: only then may the reused frame be overwritten.
  const send = (bytes: Uint8Array): Promise<void> => {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(bytes.byteLength);
    process.stdout.write(prefix);
    wireBytes += bytes.byteLength;
    return new Promise((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
  };
  await send(Buffer.from(await signer.seal('ModelManifest', pkg.manifest), 'latin1'));
  const reuse = new Uint8Array(pkg.manifest.chunkBytes + FRAME_OVERHEAD_BYTES);
  for (let index = 0; index < pkg.chunkCount; index++) await send(pkg.chunk(index, reuse));
  process.stderr.write(JSON.stringify({ startedMs, cpuSeconds: cpuSecondsSince(cpuStarted), peakRssBytes: peakRss(), wireBytes, parameters }));
}

/** Receiver end: verifies the manifest, reassembles the chunks from stdin. */
async function receiveEnd(): Promise<void> {
  const key = await importPublicJwk(JSON.parse(process.env.LGEFED_BENCH_PUBLIC_JWK!));
  const verifier = new Verifier({ senders: [{ id: 'sender', key }], replayCache: new ReplayCache(), maxPayloadBytes: 2 * MB });
  const runtimeRssBytes = process.memoryUsage().rss;
  const message = new Uint8Array(4 * MB);
  const prefix = Buffer.alloc(4);
  let prefixHave = 0;
  let need = -1;
  let have = 0;
  let receiver: ModelReassembler | undefined;
  let cpuStarted: NodeJS.CpuUsage | undefined;
  for await (const data of process.stdin as AsyncIterable<Buffer>) {
    cpuStarted ??= process.cpuUsage();
    for (let at = 0; at < data.length; ) {
      if (need < 0) {
        const take = Math.min(4 - prefixHave, data.length - at);
        prefix.set(data.subarray(at, at + take), prefixHave);
        prefixHave += take;
        at += take;
        if (prefixHave === 4) [need, have, prefixHave] = [prefix.readUInt32LE(0), 0, 0];
        if (need > message.length) throw new Error(`message of ${need} bytes`);
        continue;
      }
      const take = Math.min(need - have, data.length - at);
      message.set(data.subarray(at, at + take), have);
      have += take;
      at += take;
      if (have < need) continue;
      if (!receiver) {
        const opened = await verifier.open(Buffer.from(message.subarray(0, need)).toString('latin1'), 'ModelManifest');
        receiver = new ModelReassembler(opened.message);
      } else {
        receiver.accept(message.subarray(0, need));
      }
      need = -1;
    }
  }
  const tensors = receiver!.result();
  const endedMs = Date.now();
  process.stdout.write(JSON.stringify({ endedMs, cpuSeconds: cpuSecondsSince(cpuStarted!), peakRssBytes: peakRss(), runtimeRssBytes, tensors: tensors.length }));
}

/** Sender | receiver through a pipe, both pinned to CPU 0 when taskset exists: one core, real process boundaries. */
async function runTwoProcess(self: string, dtype: WireDType, env: NodeJS.ProcessEnv): Promise<Figures> {
  const pair = await generateKeyPair();
  const dir = mkdtempSync(join(tmpdir(), 'lgefed-bench-'));
  try {
    const senderOut = join(dir, 'sender.json');
    const pin = existsSync('/usr/bin/taskset') ? 'taskset -c 0 ' : '';
    const node = `${pin}"${process.execPath}" --expose-gc "${self}"`;
    const receiverOut = execFileSync('sh', ['-c', `${node} --send ${dtype} 2>"${senderOut}" | ${node} --receive`], {
      encoding: 'utf8',
      env: { ...env, LGEFED_BENCH_PRIVATE_JWK: JSON.stringify(pair.privateJwk), LGEFED_BENCH_PUBLIC_JWK: JSON.stringify(pair.publicJwk) },
    });
    const sent = JSON.parse(readFileSync(senderOut, 'utf8')) as { startedMs: number; cpuSeconds: number; peakRssBytes: number; wireBytes: number; parameters: number };
    const received = JSON.parse(receiverOut) as { endedMs: number; cpuSeconds: number; peakRssBytes: number; runtimeRssBytes: number };
    const modelBytes = sent.parameters * 4;
    const seconds = (received.endedMs - sent.startedMs) / 1000;
    const cpuSeconds = sent.cpuSeconds + received.cpuSeconds;
    return {
      mode: 'two-process',
      dtype,
      parameters: sent.parameters,
      modelBytes,
      wireBytes: sent.wireBytes,
      seconds,
      cpuSeconds,
      mbPerS: modelBytes / MB / seconds,
      mbPerCpuS: modelBytes / MB / cpuSeconds,
      runtimeRssBytes: received.runtimeRssBytes,
      peakRssBytes: Math.max(sent.peakRssBytes, received.peakRssBytes),
      baselineRssBytes: 0,
      senderPeakRssBytes: sent.peakRssBytes,
      receiverPeakRssBytes: received.peakRssBytes,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runOne(mode: Mode, dtype: WireDType): Promise<Figures> {
  const runtimeRssBytes = process.memoryUsage().rss;
  const pair = await generateKeyPair();
  const signer = new Signer(await importPrivateJwk(pair.privateJwk));
  const key = await importPublicJwk(pair.publicJwk);
  const tensors = unetTensors();
  const parameters = tensors.reduce((n, t) => n + t.data.length, 0);
  const architecture = unetArchitecture(parameters);
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const baselineRssBytes = process.memoryUsage().rss;
  const verifier = new Verifier({ senders: [{ id: 'site', key }], replayCache: new ReplayCache(), maxPayloadBytes: 2 * MB });
  let wireBytes = 0;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const pkg = packModel(tensors, { modelId: 'unet', architecture, dtype });
  const manifestEnvelope = await signer.seal('ModelManifest', pkg.manifest);
  const opened = await verifier.open(manifestEnvelope, 'ModelManifest');
  wireBytes += manifestEnvelope.length;
  const receiver = new ModelReassembler(opened.message);
  // The receiver takes each frame synchronously (as a sender awaiting acks would), so one buffer serves all.
  const reuse = new Uint8Array(pkg.manifest.chunkBytes + FRAME_OVERHEAD_BYTES);
  for (let index = 0; index < pkg.chunkCount; index++) {
    const frame = pkg.chunk(index, reuse);
    if (mode === 'manifest') {
      wireBytes += frame.byteLength;
      receiver.accept(frame);
    } else {
      // Peer: the same frame, sealed and verified as a JWS of its own (base64 + Ed25519 over every byte).
      const envelope = await signer.seal('TensorChunk', decodeMessage('TensorChunk', frame));
      wireBytes += envelope.length;
      const chunk = await verifier.open(envelope, 'TensorChunk');
      receiver.accept(chunk.payload);
    }
  }
  const result = receiver.result();
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (result.length !== tensors.length) throw new Error('reassembly lost tensors');
  const modelBytes = parameters * 4;
  return {
    mode,
    dtype,
    parameters,
    modelBytes,
    wireBytes,
    seconds,
    cpuSeconds,
    mbPerS: modelBytes / MB / seconds,
    mbPerCpuS: modelBytes / MB / cpuSeconds,
    runtimeRssBytes,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    baselineRssBytes,
  };
}

interface Ceiling {
  /** Float32 model MB written per CPU-second into memory the process never touched (first-touch page faults). */
  readonly freshMemoryMbPerCpuS: number;
  /** SHA-256 MB per CPU-second, chunk by chunk. */
  readonly sha256MbPerCpuS: number;
  /** The most a one-process manifest float32 run can reach: both ends hash every byte, the receiver's model is new memory. */
  readonly manifestFloat32MbPerCpuS: number;
}

/** What this machine allows whatever our code does, measured in a fresh process like the runs. */
function measureCeiling(): Ceiling {
  const tensors = unetTensors();
  const bytes = tensors.reduce((n, t) => n + t.data.byteLength, 0);
  const touch = process.cpuUsage();
  const received = tensors.map((t) => {
    const copy = new Float32Array(t.data.length);
    copy.set(t.data);
    return copy;
  });
  const touchSeconds = cpuSecondsSince(touch);
  const hash = process.cpuUsage();
  for (const t of received) {
    const view = new Uint8Array(t.buffer);
    for (let at = 0; at < view.byteLength; at += DEFAULT_CHUNK_BYTES) createHash('sha256').update(view.subarray(at, at + DEFAULT_CHUNK_BYTES)).digest();
  }
  const hashSeconds = cpuSecondsSince(hash);
  const mb = bytes / MB;
  return { freshMemoryMbPerCpuS: mb / touchSeconds, sha256MbPerCpuS: mb / hashSeconds, manifestFloat32MbPerCpuS: mb / (touchSeconds + 2 * hashSeconds) };
}

/** (max - min) / median of the runs' MB per CPU-second, given the median run. */
function spreadOf(runs: readonly Figures[], median: Figures): number {
  const rates = runs.map((r) => r.mbPerCpuS);
  return (Math.max(...rates) - Math.min(...rates)) / median.mbPerCpuS;
}

async function main(): Promise<void> {
  const [flag, mode, dtype] = process.argv.slice(2);
  if (flag === '--ceiling') {
    process.stdout.write(JSON.stringify(measureCeiling()));
    return;
  }
  if (flag === '--child') {
    process.stdout.write(JSON.stringify(await runOne(mode as Mode, dtype as WireDType)));
    return;
  }
  if (flag === '--send') return sendEnd(mode as WireDType);
  if (flag === '--receive') return receiveEnd();
  const self = fileURLToPath(import.meta.url);
  const rounds = roundsFlag(3);
  const byPages: Record<string, unknown> = {};
  for (const hugePages of [false, true]) byPages[hugePages ? 'huge_pages' : 'pages_4k'] = await measurePages(self, rounds, hugePages);
  console.log(JSON.stringify({ bench: 'protocol', rounds, load_average: Number(loadavg()[0]!.toFixed(2)), ...byPages }));
}

/**
 * Every configuration in `rounds` rounds, each run a child process whose glibc uses 4 KiB or huge
 * pages; prints the table of medians and returns its figures.
 */
async function measurePages(self: string, rounds: number, hugePages: boolean): Promise<Record<string, unknown>> {
  const env = withPageSize(process.env, hugePages);
  const configs: [Mode, WireDType][] = [
    ['manifest', 'float32'],
    ['manifest', 'float16'],
    ['jws-per-chunk', 'float32'],
    ['jws-per-chunk', 'float16'],
  ];
  const twoProcess: WireDType[] = ['float32', 'float16'];
  // Rounds in turn (every configuration, and the ceiling, once per round): a single run swings with how fast
  // this VM's host backs memory the guest never touched (124 MB written in 21-28 ms, now and then
  // 214-276 ms, huge pages granted each time).
  const runs: Figures[][] = Array.from({ length: configs.length + twoProcess.length }, () => []);
  const ceilings: Ceiling[] = [];
  for (let round = 0; round < rounds; round++) {
    configs.forEach(([m, d], i) =>
      runs[i]!.push(JSON.parse(execFileSync(process.execPath, ['--expose-gc', self, '--child', m, d], { encoding: 'utf8', maxBuffer: 1 << 20, env })) as Figures),
    );
    for (const [i, dtype] of twoProcess.entries()) runs[configs.length + i]!.push(await runTwoProcess(self, dtype, env));
    ceilings.push(JSON.parse(execFileSync(process.execPath, [self, '--ceiling'], { encoding: 'utf8', env })) as Ceiling);
  }
  const rows = runs.map((r) => medianRun(r, (run) => run.mbPerCpuS));
  const spreads = runs.map((r, i) => spreadOf(r, rows[i]!));
  const ceiling = medianRun(ceilings, (c) => c.manifestFloat32MbPerCpuS);
  const peer = (dtypeOf: WireDType): Figures => rows.find((r) => r.mode === 'jws-per-chunk' && r.dtype === dtypeOf)!;
  const first = rows[0]!;
  const pages = hugePages ? `huge pages (GLIBC_TUNABLES=${HUGE_PAGE_TUNABLE}, as lgefed's processes run)` : '4 KiB pages (glibc default)';
  console.log(`model: ${first.parameters.toLocaleString('en')} float32 parameters (${(first.modelBytes / MB).toFixed(1)} MB); load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores; ${pages}`);
  console.log(
    `MB/s = float32 model MB per second, end to end (pack + sign + verify + reassemble); CPU = process CPU time, wall = elapsed; ` +
      `each row the median of ${rounds} round(s) by MB/s CPU, spread = (max - min) / median`,
  );
  console.log('path           dtype    wire MB  CPU s  MB/s CPU  spread  vs peer  vs 300  wall s  MB/s wall  peak RSS MB  RSS/model');
  for (const [i, r] of rows.entries()) {
    console.log(
      [
        r.mode.padEnd(13),
        r.dtype.padEnd(7),
        (r.wireBytes / MB).toFixed(1).padStart(8),
        r.cpuSeconds.toFixed(2).padStart(6),
        r.mbPerCpuS.toFixed(0).padStart(9),
        `${(spreads[i]! * 100).toFixed(0)}%`.padStart(7),
        `${(r.mbPerCpuS / peer(r.dtype).mbPerCpuS).toFixed(2)}x`.padStart(8),
        `${(r.mbPerCpuS / TARGET_MB_S).toFixed(2)}x`.padStart(7),
        r.seconds.toFixed(2).padStart(7),
        r.mbPerS.toFixed(0).padStart(10),
        (r.peakRssBytes / MB).toFixed(0).padStart(12),
        `${(r.peakRssBytes / r.modelBytes).toFixed(2)}x`.padStart(10),
      ].join(' '),
    );
  }
  console.log(`targets: >= ${TARGET_MB_S} MB/s on one core; peak RSS <= ${TARGET_RSS_RATIO}x the float32 model size.`);
  console.log(
    `ceiling on this machine (the median round): writing a model into fresh memory ${ceiling.freshMemoryMbPerCpuS.toFixed(0)} MB/s per CPU-second (first-touch page faults), ` +
      `SHA-256 ${ceiling.sha256MbPerCpuS.toFixed(0)} MB/s: a one-process manifest float32 run cannot pass ${ceiling.manifestFloat32MbPerCpuS.toFixed(0)} MB/s per CPU-second ` +
      `(ours reaches ${(first.mbPerCpuS / ceiling.manifestFloat32MbPerCpuS).toFixed(2)}x of that).`,
  );
  console.log(`manifest/jws-per-chunk rows hold both ends in one process: Node runtime ${(first.runtimeRssBytes / MB).toFixed(0)} MB + the sent model + the received model.`);
  for (const r of rows.filter((row) => row.mode === 'two-process')) {
    console.log(
      `two-process ${r.dtype}: sender | pipe | receiver on one core; peak RSS sender ${(r.senderPeakRssBytes! / MB).toFixed(0)} MB ` +
        `(${(r.senderPeakRssBytes! / r.modelBytes).toFixed(2)}x), receiver ${(r.receiverPeakRssBytes! / MB).toFixed(0)} MB (${(r.receiverPeakRssBytes! / r.modelBytes).toFixed(2)}x)`,
    );
  }
  const figures = Object.fromEntries(
    rows.map((r, i) => [
      `${r.mode}_${r.dtype}`,
      {
        mb_per_cpu_s: Number(r.mbPerCpuS.toFixed(1)),
        mb_per_cpu_s_spread: Number(spreads[i]!.toFixed(3)),
        mb_per_cpu_s_rounds: runs[i]!.map((run) => Number(run.mbPerCpuS.toFixed(1))),
        cpu_s: Number(r.cpuSeconds.toFixed(3)),
        mb_per_wall_s: Number(r.mbPerS.toFixed(1)),
        wall_s: Number(r.seconds.toFixed(3)),
        wire_mb: Number((r.wireBytes / MB).toFixed(1)),
        peak_rss_mb: Number((r.peakRssBytes / MB).toFixed(1)),
        rss_ratio: Number((r.peakRssBytes / r.modelBytes).toFixed(2)),
        ratio_vs_peer_cpu: Number((r.mbPerCpuS / peer(r.dtype).mbPerCpuS).toFixed(2)),
        ...(r.senderPeakRssBytes === undefined
          ? {}
          : {
              sender_peak_rss_mb: Number((r.senderPeakRssBytes / MB).toFixed(1)),
              receiver_peak_rss_mb: Number((r.receiverPeakRssBytes! / MB).toFixed(1)),
            }),
      },
    ]),
  );
  return {
    parameters: first.parameters,
    model_mb: Number((first.modelBytes / MB).toFixed(1)),
    runtime_rss_mb: Number((first.runtimeRssBytes / MB).toFixed(1)),
    ceiling: {
      fresh_memory_mb_per_cpu_s: Number(ceiling.freshMemoryMbPerCpuS.toFixed(1)),
      sha256_mb_per_cpu_s: Number(ceiling.sha256MbPerCpuS.toFixed(1)),
      manifest_float32_mb_per_cpu_s: Number(ceiling.manifestFloat32MbPerCpuS.toFixed(1)),
    },
    ...figures,
  };
}

await main();

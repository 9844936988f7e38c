import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import protobuf from 'protobufjs';
import { ProtocolError } from './errors.js';
import { decodeFloat16, encodeFloat16, firstNonFinite } from './float16.js';
import type { ArchitectureSpec, ChunkDigest, ChunkRequest, DType, ModelManifest, TensorSpec } from './messages.generated.js';
import { encodeMessage, messageType, withoutDefaults } from './schema.js';

/**
 * Model weights on the wire: a ModelManifest (sent signed, in an envelope) lists every tensor's place
 * in one little-endian byte stream and the SHA-256 of every chunk of that stream; the chunks travel
 * as bare TensorChunk frames, each checked against the manifest, so bulk bytes skip Ed25519 and
 * base64 while staying authenticated.
 */

/** Largest chunk frame accepted: 1 MiB, what a socket.io message may carry. */
export const MAX_CHUNK_FRAME_BYTES = 1024 * 1024;
/** Default chunk payload: 960 KiB, so frames also fit socket.io's default 1e6-byte message limit. */
export const DEFAULT_CHUNK_BYTES = 960 * 1024;
/** Room for the frame's other fields within MAX_CHUNK_FRAME_BYTES. */
export const FRAME_OVERHEAD_BYTES = 128;
export const DEFAULT_MAX_MODEL_BYTES = 1024 * 1024 * 1024;
const SHA256_BYTES = 32;
/** TensorChunk field 4 (`data`), wire type 2 (length-delimited). */
const DATA_FIELD_TAG = (4 << 3) | 2;

if (endianness() !== 'LE') throw new Error('@lgefed/protocol needs a little-endian host: float32 tensors are copied to the wire as-is');

export type WireDType = 'float32' | 'float16';

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export interface PackOptions {
  readonly modelId: string;
  readonly architecture: ArchitectureSpec;
  /** Wire precision; default float32. Receivers always get float32 back. */
  readonly dtype?: WireDType;
  /** Chunk payload size in bytes, a multiple of 4; default DEFAULT_CHUNK_BYTES. */
  readonly chunkBytes?: number;
}

/** A decoded chunk frame. */
export interface ChunkFrame {
  readonly transferId: string;
  readonly index: number;
  readonly byteOffset: number;
  readonly data: Uint8Array;
}

export interface ChunkReceipt {
  readonly index: number;
  /** False when earlier chunks are still missing: a gap, a reordering or a re-sent chunk. */
  readonly inOrder: boolean;
  /** Chunks still to come. */
  readonly remaining: number;
}

interface PlacedTensor {
  readonly spec: TensorSpec;
  readonly elementBytes: 2 | 4;
  readonly elements: number;
}

const DTYPE_OF: Readonly<Record<WireDType, DType>> = { float32: 'DTYPE_FLOAT32', float16: 'DTYPE_FLOAT16' };

/**
 * Splits a float32 tensor set into a manifest and chunk frames. Hashes every chunk up front (the
 * manifest must be complete before the first chunk is sent) and builds each frame only when asked,
 * so memory stays at one frame beyond the model; the tensors must not change while the package is
 * in use. Synchronous: for scripts and tests; a server uses packModelAsync.
 */
export function packModel(tensors: readonly NamedTensor[], options: PackOptions): ModelPackage {
  const steps = packSteps(tensors, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * packModel that returns to the event loop after each chunk it hashes (about a millisecond of
 * work), so packing a large model never stalls a server's sockets.
 */
export async function packModelAsync(tensors: readonly NamedTensor[], options: PackOptions): Promise<ModelPackage> {
  const steps = packSteps(tensors, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** The packing work, yielding after each chunk. */
function* packSteps(tensors: readonly NamedTensor[], options: PackOptions): Generator<void, ModelPackage> {
  const dtype = options.dtype ?? 'float32';
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  checkChunkBytes(chunkBytes);
  if (tensors.length === 0) throw new ProtocolError('MALFORMED', 'a model needs at least one tensor');
  const names = new Set<string>();
  const specs: TensorSpec[] = [];
  let offset = 0;
  let parameterCount = 0;
  for (const tensor of tensors) {
    if (!tensor.name || names.has(tensor.name)) throw new ProtocolError('MALFORMED', `tensor name '${tensor.name}' is empty or repeated`);
    names.add(tensor.name);
    const elements = elementCount(tensor.shape, tensor.name);
    if (elements !== tensor.data.length) {
      throw new ProtocolError('MALFORMED', `tensor ${tensor.name}: shape [${tensor.shape.join(', ')}] needs ${elements} values, has ${tensor.data.length}`);
    }
    const byteLength = elements * (dtype === 'float16' ? 2 : 4);
    specs.push({ name: tensor.name, shape: [...tensor.shape], dtype: DTYPE_OF[dtype], byteOffset: offset, byteLength });
    offset = alignTo4(offset + byteLength);
    parameterCount += elements;
  }
  const layout = placeTensors(specs);
  if (offset > 0xffffffff) throw new ProtocolError('TOO_LARGE', `model of ${offset} bytes exceeds the 4 GiB wire format limit`);

  const chunks: ChunkDigest[] = [];
  // float16 conversion scratch; a float32 model is hashed in place and needs none.
  const scratch = new Uint8Array(dtype === 'float16' ? chunkBytes : 0);
  const halves = float16Scratch(layout, chunkBytes);
  for (let index = 0, start = 0; start < offset; index++, start += chunkBytes) {
    const length = Math.min(chunkBytes, offset - start);
    const hash = createHash('sha256');
    if (dtype === 'float32') {
      // Check and hash float32 tensors in place: no copy on the first pass. (float16 conversion
      // refuses NaN and infinity itself.)
      forEachSegment(layout, start, start + length, (tensor, from, bytes) => {
        if (tensor < 0) {
          hash.update(new Uint8Array(bytes));
          return;
        }
        const { name, data } = tensors[tensor]!;
        const first = from / 4;
        const bad = firstNonFinite(data.subarray(first, first + bytes / 4));
        if (bad >= 0) {
          throw new ProtocolError('NON_FINITE', `tensor ${name} holds ${data[first + bad]} at element ${first + bad}`, { tensor: name, element: first + bad });
        }
        hash.update(byteView(data, from, bytes));
      });
    } else {
      writeStreamRange(tensors, layout, start, length, scratch, 0, halves);
      hash.update(scratch.subarray(0, length));
    }
    chunks.push({ index, byteOffset: start, byteLength: length, sha256: hash.digest() });
    yield;
  }
  const manifest: ModelManifest = {
    transferId: deriveTransferId(chunks.map((c) => c.sha256)),
    modelId: options.modelId,
    architecture: options.architecture,
    tensors: specs,
    chunks,
    totalBytes: offset,
    chunkBytes,
    parameterCount,
  };
  return new ModelPackage(manifest, tensors, layout);
}

/**
 * Frames a package keeps once built: a round sends the same model to every site at about the same
 * pace (each with CHUNK_WINDOW chunks in flight), so sites that are close behind one another get
 * the frame another site's send built, instead of each building (and allocating) it again.
 */
export const RECENT_FRAMES = 16;

export class ModelPackage {
  /** Reused float16 conversion buffer: frames are built one at a time. */
  private readonly halves: Uint16Array;
  /** The last RECENT_FRAMES frames built without `reuse`, oldest first (never handed out for reuse). */
  private readonly recent = new Map<number, Uint8Array>();
  /** SHA-256 of the manifest's protobuf bytes: the `sha256` of a ModelRef naming these weights. */
  readonly manifestSha256: Uint8Array;

  constructor(
    readonly manifest: ModelManifest,
    private readonly tensors: readonly NamedTensor[],
    private readonly layout: readonly PlacedTensor[],
  ) {
    this.manifestSha256 = manifestDigest(manifest);
    this.halves = float16Scratch(layout, manifest.chunkBytes);
  }

  get chunkCount(): number {
    return this.manifest.chunks.length;
  }

  /**
   * The frame of chunk `index`, built now (also what to send again for a ChunkRequest). With
   * `reuse`, the frame is built inside that buffer when it is big enough (at least
   * `manifest.chunkBytes + FRAME_OVERHEAD_BYTES` bytes), so a sender that waits for each chunk's
   * ack before building the next keeps one frame's memory instead of a megabyte of garbage per chunk.
   * Without `reuse`, a frame built recently is returned as it is (frames are never modified).
   */
  chunk(index: number, reuse?: Uint8Array): Uint8Array {
    if (reuse === undefined) {
      const kept = this.recent.get(index);
      if (kept) return kept;
    }
    const digest = this.manifest.chunks[index];
    if (!digest) throw new ProtocolError('CHUNK_MISMATCH', `no chunk ${index} in transfer ${this.manifest.transferId}`, { index });
    const header = frameHeader(this.manifest.transferId, index, digest.byteOffset, digest.byteLength);
    const size = header.length + digest.byteLength;
    // Every byte is written below (padding explicitly), so skip zero-filling a megabyte per chunk.
    const frame = reuse && reuse.byteLength >= size ? reuse.subarray(0, size) : Buffer.allocUnsafeSlow(size);
    frame.set(header);
    writeStreamRange(this.tensors, this.layout, digest.byteOffset, digest.byteLength, frame, header.length, this.halves);
    if (reuse === undefined) {
      this.recent.set(index, frame);
      if (this.recent.size > RECENT_FRAMES) this.recent.delete(this.recent.keys().next().value!);
    }
    return frame;
  }

  *chunks(): Generator<Uint8Array> {
    for (let index = 0; index < this.chunkCount; index++) yield this.chunk(index);
  }
}

/**
 * Rebuilds float32 tensors from a verified manifest and its chunk frames, in any order. Every
 * frame is size-checked before decoding and hash-checked before use; a corrupt, foreign or
 * duplicated frame throws CHUNK_MISMATCH and leaves the state unchanged, so the transfer can go on
 * and `missing` says what to request again.
 */
export class ModelReassembler {
  private readonly layout: readonly PlacedTensor[];
  private readonly outputs: readonly Float32Array[];
  private readonly received: Uint8Array;
  private receivedCount = 0;
  private nextExpected = 0;
  private readonly maxFrameBytes: number;
  /** Where float16 data is copied when a frame leaves it at an odd address. */
  private readonly alignedHalves: Uint16Array;

  constructor(
    readonly manifest: ModelManifest,
    options: { readonly maxModelBytes?: number } = {},
  ) {
    this.layout = validateManifest(manifest, options.maxModelBytes ?? DEFAULT_MAX_MODEL_BYTES);
    const storage = new ArrayBuffer(manifest.parameterCount * 4);
    let element = 0;
    this.outputs = this.layout.map((t) => {
      const view = new Float32Array(storage, element * 4, t.elements);
      element += t.elements;
      return view;
    });
    this.received = new Uint8Array(manifest.chunks.length);
    this.maxFrameBytes = Math.min(MAX_CHUNK_FRAME_BYTES, manifest.chunkBytes + FRAME_OVERHEAD_BYTES);
    this.alignedHalves = float16Scratch(this.layout, manifest.chunkBytes);
  }

  accept(frame: Uint8Array): ChunkReceipt {
    if (frame.byteLength > this.maxFrameBytes) {
      throw new ProtocolError('TOO_LARGE', `chunk frame of ${frame.byteLength} bytes exceeds ${this.maxFrameBytes}`);
    }
    const chunk = decodeChunkFrame(frame);
    const { transferId, chunks } = this.manifest;
    if (chunk.transferId !== transferId) {
      throw new ProtocolError('CHUNK_MISMATCH', `chunk belongs to transfer ${chunk.transferId}, not ${transferId}`, { reason: 'foreign' });
    }
    const digest = chunks[chunk.index];
    if (!digest || chunk.byteOffset !== digest.byteOffset || chunk.data.byteLength !== digest.byteLength) {
      throw new ProtocolError('CHUNK_MISMATCH', `chunk ${chunk.index} does not match its manifest entry`, { index: chunk.index, reason: 'placement' });
    }
    if (this.received[chunk.index]) {
      throw new ProtocolError('CHUNK_MISMATCH', `chunk ${chunk.index} arrived twice`, { index: chunk.index, reason: 'duplicate' });
    }
    const actual = createHash('sha256').update(chunk.data).digest();
    if (!actual.equals(digest.sha256)) {
      throw new ProtocolError('CHUNK_MISMATCH', `chunk ${chunk.index} is corrupt (SHA-256 mismatch)`, { index: chunk.index, reason: 'corrupt' });
    }
    this.store(digest.byteOffset, chunk.data);
    this.received[chunk.index] = 1;
    this.receivedCount++;
    const inOrder = chunk.index === this.nextExpected;
    while (this.nextExpected < chunks.length && this.received[this.nextExpected]) this.nextExpected++;
    return { index: chunk.index, inOrder, remaining: chunks.length - this.receivedCount };
  }

  get complete(): boolean {
    return this.receivedCount === this.manifest.chunks.length;
  }

  /** Indices of chunks not yet accepted, ascending. */
  get missing(): number[] {
    const indices: number[] = [];
    this.received.forEach((got, index) => got || indices.push(index));
    return indices;
  }

  /** The request that asks the sender for every missing chunk. */
  chunkRequest(): ChunkRequest {
    return { transferId: this.manifest.transferId, indices: this.missing };
  }

  /** The float32 tensors; throws CHUNK_MISMATCH listing the missing chunks until all arrived. */
  result(): NamedTensor[] {
    if (!this.complete) {
      const missing = this.missing;
      throw new ProtocolError('CHUNK_MISMATCH', `transfer incomplete: ${missing.length} chunk(s) missing`, { reason: 'missing', missing });
    }
    return this.layout.map((t, i) => ({ name: t.spec.name, shape: t.spec.shape, data: this.outputs[i]! }));
  }

  /** Writes stream bytes into the float32 outputs, refusing NaN and infinity. */
  private store(streamOffset: number, data: Uint8Array): void {
    forEachSegment(this.layout, streamOffset, streamOffset + data.byteLength, (tensor, from, bytes, at) => {
      if (tensor < 0) return;
      const placed = this.layout[tensor]!;
      const output = this.outputs[tensor]!;
      const source = data.subarray(at - streamOffset, at - streamOffset + bytes);
      const first = from / placed.elementBytes;
      const count = bytes / placed.elementBytes;
      if (placed.elementBytes === 2) {
        let halves: Uint16Array;
        if (source.byteOffset % 2 === 0) {
          halves = new Uint16Array(source.buffer, source.byteOffset, count);
        } else {
          halves = this.alignedHalves.subarray(0, count);
          byteView(halves, 0, bytes).set(source);
        }
        decodeFloat16(halves, output, first);
      } else {
        const target = output.subarray(first, first + count);
        byteView(target, 0, bytes).set(source);
        const bad = firstNonFinite(target);
        if (bad >= 0) {
          throw new ProtocolError('NON_FINITE', `tensor ${placed.spec.name} holds ${target[bad]} at element ${first + bad}`, {
            tensor: placed.spec.name,
          });
        }
      }
    });
  }
}

/** SHA-256 of the manifest as this sender encodes and signs it (the payload Signer.seal writes). */
export function manifestDigest(manifest: ModelManifest): Uint8Array {
  return signedManifestDigest(encodeMessage('ModelManifest', manifest));
}

/**
 * SHA-256 of a received ModelManifest's signed payload bytes: what a ModelRef's `sha256` and a
 * TrainResult's `weightsManifestSha256` quote. A receiver hashes the bytes it verified, never a
 * re-encoding, since another encoder may write the same manifest in another valid byte form.
 */
export function signedManifestDigest(payload: Uint8Array): Uint8Array {
  return createHash('sha256').update(payload).digest();
}

/** A transfer's id: the first 128 bits of SHA-256 over its chunk digests, in hex. */
export function deriveTransferId(chunkDigests: readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const digest of chunkDigests) hash.update(digest);
  return hash.digest('hex').slice(0, 32);
}

/**
 * Decodes a chunk frame in any valid TensorChunk encoding: protobuf's rules decide (field order,
 * defaults written or left out, unknown fields skipped), not a comparison with our encoder's bytes.
 * Nothing in a frame is trusted: the receiver checks index, offset and length against the signed
 * manifest and the data against its SHA-256 there. The payload stays a view into the frame.
 */
export function decodeChunkFrame(frame: Uint8Array): ChunkFrame {
  const type = messageType('TensorChunk');
  let decoded: protobuf.Message;
  try {
    decoded = type.decode(frame);
  } catch (cause) {
    throw new ProtocolError('MALFORMED', `not a TensorChunk frame: ${(cause as Error).message}`, {}, { cause });
  }
  const problem = type.verify(decoded);
  if (problem) throw new ProtocolError('MALFORMED', `not a TensorChunk frame: ${problem}`);
  // Absent fields read as their defaults from the decoded message's prototype.
  const { transferId, index, byteOffset, data } = decoded as unknown as { transferId: string; index: number; byteOffset: number; data: Uint8Array };
  if (!(data instanceof Uint8Array) || data.byteLength === 0) throw new ProtocolError('MALFORMED', 'chunk frame carries no data');
  return { transferId, index, byteOffset, data };
}

/** A frame's bytes up to where `data` starts, in canonical form: the other fields (defaults left out), then data's tag and length. */
function frameHeader(transferId: string, index: number, byteOffset: number, dataLength: number): Uint8Array {
  const writer = protobuf.Writer.create();
  const type = messageType('TensorChunk');
  type.encode(type.fromObject(withoutDefaults(type, { transferId, index, byteOffset })), writer);
  return writer.uint32(DATA_FIELD_TAG).uint32(dataLength).finish();
}

/** Checks everything a receiver relies on, before allocating anything for the model. */
function validateManifest(manifest: ModelManifest, maxModelBytes: number): PlacedTensor[] {
  const fail = (why: string): never => {
    throw new ProtocolError('MALFORMED', `invalid model manifest: ${why}`);
  };
  if (manifest.totalBytes > maxModelBytes) {
    throw new ProtocolError('TOO_LARGE', `model of ${manifest.totalBytes} bytes exceeds the ${maxModelBytes}-byte limit`);
  }
  checkChunkBytes(manifest.chunkBytes);
  if (manifest.tensors.length === 0) fail('no tensors');
  const layout = placeTensors(manifest.tensors);
  const names = new Set<string>();
  let offset = 0;
  let parameters = 0;
  for (const placed of layout) {
    const { spec } = placed;
    if (!spec.name || names.has(spec.name)) fail(`tensor name '${spec.name}' is empty or repeated`);
    names.add(spec.name);
    if (spec.byteOffset !== offset) fail(`tensor ${spec.name} starts at ${spec.byteOffset}, expected ${offset}`);
    if (spec.byteLength !== placed.elements * placed.elementBytes) fail(`tensor ${spec.name} length does not match its shape`);
    offset = alignTo4(offset + spec.byteLength);
    parameters += placed.elements;
  }
  if (manifest.totalBytes !== offset) fail(`total of ${manifest.totalBytes} bytes, tensors span ${offset}`);
  if (manifest.parameterCount !== parameters) fail(`parameter count ${manifest.parameterCount}, tensors hold ${parameters}`);
  const expectedChunks = Math.ceil(offset / manifest.chunkBytes);
  if (manifest.chunks.length !== expectedChunks) fail(`${manifest.chunks.length} chunks, expected ${expectedChunks}`);
  manifest.chunks.forEach((chunk, index) => {
    const start = index * manifest.chunkBytes;
    if (chunk.index !== index || chunk.byteOffset !== start || chunk.byteLength !== Math.min(manifest.chunkBytes, offset - start)) {
      fail(`chunk entry ${index} is misplaced`);
    }
    if (chunk.sha256.byteLength !== SHA256_BYTES) fail(`chunk ${index} digest is not SHA-256`);
  });
  if (manifest.transferId !== deriveTransferId(manifest.chunks.map((c) => c.sha256))) fail('transfer id does not match the chunk digests');
  return layout;
}

function placeTensors(specs: readonly TensorSpec[]): PlacedTensor[] {
  return specs.map((spec) => {
    if (spec.dtype !== 'DTYPE_FLOAT32' && spec.dtype !== 'DTYPE_FLOAT16') {
      throw new ProtocolError('MALFORMED', `tensor ${spec.name}: dtype ${spec.dtype} is not float32 or float16`);
    }
    return { spec, elementBytes: spec.dtype === 'DTYPE_FLOAT16' ? 2 : 4, elements: elementCount(spec.shape, spec.name) };
  });
}

/**
 * Calls `visit(tensor, byteInTensor, bytes, streamOffset)` for each piece of stream range
 * [start, end): tensor -1 marks alignment padding.
 */
function forEachSegment(
  layout: readonly PlacedTensor[],
  start: number,
  end: number,
  visit: (tensor: number, from: number, bytes: number, at: number) => void,
): void {
  let position = start;
  for (let i = 0; i < layout.length && position < end; i++) {
    const { byteOffset, byteLength } = layout[i]!.spec;
    const paddedEnd = alignTo4(byteOffset + byteLength);
    if (paddedEnd <= position) continue;
    const dataEnd = Math.min(byteOffset + byteLength, end);
    if (position < dataEnd) {
      visit(i, position - byteOffset, dataEnd - position, position);
      position = dataEnd;
    }
    const padEnd = Math.min(paddedEnd, end);
    if (position < padEnd) {
      visit(-1, 0, padEnd - position, position);
      position = padEnd;
    }
  }
}

/**
 * A chunk's worth of 16-bit words for float16 conversion, or none when no tensor is float16: a
 * float32 model's transfer then keeps no megabyte of scratch memory on either end.
 */
function float16Scratch(layout: readonly PlacedTensor[], chunkBytes: number): Uint16Array {
  return new Uint16Array(layout.some((t) => t.elementBytes === 2) ? chunkBytes / 2 : 0);
}

/**
 * Writes stream bytes [start, start + length) into `target` at `at`, converting to the wire dtype
 * through `halves` (aligned scratch, so the conversion loop stores whole 16-bit words).
 */
function writeStreamRange(
  tensors: readonly NamedTensor[],
  layout: readonly PlacedTensor[],
  start: number,
  length: number,
  target: Uint8Array,
  at: number,
  halves: Uint16Array,
): void {
  forEachSegment(layout, start, start + length, (tensor, from, bytes, streamOffset) => {
    const to = at + streamOffset - start;
    if (tensor < 0) {
      target.fill(0, to, to + bytes);
    } else if (layout[tensor]!.elementBytes === 2) {
      const { name, data } = tensors[tensor]!;
      try {
        encodeFloat16(data, from / 2, bytes / 2, halves);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        throw new ProtocolError('NON_FINITE', `tensor ${name}: ${err.message}`, { ...err.details, tensor: name });
      }
      target.set(byteView(halves, 0, bytes), to);
    } else {
      target.set(byteView(tensors[tensor]!.data, from, bytes), to);
    }
  });
}

function byteView(values: Float32Array | Uint16Array, from: number, bytes: number): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset + from, bytes);
}

function elementCount(shape: readonly number[], name: string): number {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 1) throw new ProtocolError('MALFORMED', `tensor ${name}: invalid dimension ${dim}`);
    count *= dim;
  }
  if (count > 0xffffffff / 4) throw new ProtocolError('TOO_LARGE', `tensor ${name} has too many elements`);
  return count;
}

function checkChunkBytes(chunkBytes: number): void {
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 4 || chunkBytes % 4 !== 0 || chunkBytes > MAX_CHUNK_FRAME_BYTES - FRAME_OVERHEAD_BYTES) {
    throw new ProtocolError('MALFORMED', `chunk size ${chunkBytes} must be a multiple of 4 in [4, ${MAX_CHUNK_FRAME_BYTES - FRAME_OVERHEAD_BYTES}]`);
  }
}

/** Tensors start on 4-byte boundaries so no element ever straddles a chunk (chunk sizes are multiples of 4). */
function alignTo4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

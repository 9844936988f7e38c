import { ProtocolError } from './errors.js';

/**
 * The on-disk / on-wire form of a model's weights: `LGEW` magic, a uint32 (LE) header length, a
 * JSON header (architecture and tensor layout), zero padding to a 4-byte boundary, then every
 * tensor's float32 (LE) values back to back in header order. A flat parameter vector lets
 * aggregation read any coordinate range of any site's update straight from disk. A model's id on
 * the wire (`ModelRef.model_id`) is the SHA-256 of this form, so coordinator and agent both need it.
 * Malformed input throws ProtocolError MALFORMED.
 */
export interface TensorLayout {
  readonly name: string;
  readonly shape: readonly number[];
}

export interface WeightsHeader {
  readonly architecture: string;
  readonly tensors: readonly TensorLayout[];
}

export interface NamedTensor extends TensorLayout {
  readonly data: Float32Array;
}

const MAGIC = Buffer.from('LGEW', 'ascii');
const PREFIX_BYTES = 8;

export function parameterCount(header: WeightsHeader): number {
  return header.tensors.reduce((sum, t) => sum + t.shape.reduce((a, b) => a * b, 1), 0);
}

function headerBytes(header: WeightsHeader): Buffer {
  const json = Buffer.from(JSON.stringify({ architecture: header.architecture, tensors: header.tensors }), 'utf8');
  const padding = (4 - ((PREFIX_BYTES + json.length) % 4)) % 4;
  return Buffer.concat([json, Buffer.alloc(padding, 0x20)]);
}

/** Bytes before the first parameter, for a given header. */
export function dataOffset(header: WeightsHeader): number {
  return PREFIX_BYTES + headerBytes(header).length;
}

export function encodeWeightsPrefix(header: WeightsHeader): Buffer {
  const json = headerBytes(header);
  const prefix = Buffer.alloc(PREFIX_BYTES);
  MAGIC.copy(prefix, 0);
  prefix.writeUInt32LE(json.length, 4);
  return Buffer.concat([prefix, json]);
}

/** Encodes a flat parameter vector under a header. */
export function encodeWeights(header: WeightsHeader, parameters: Float32Array): Buffer {
  const expected = parameterCount(header);
  if (parameters.length !== expected) {
    throw new ProtocolError('MALFORMED', `header describes ${expected} parameters, got ${parameters.length}`);
  }
  const data = Buffer.from(parameters.buffer, parameters.byteOffset, parameters.byteLength);
  return Buffer.concat([encodeWeightsPrefix(header), data]);
}

export function encodeTensors(architecture: string, tensors: readonly NamedTensor[]): Buffer {
  const header: WeightsHeader = { architecture, tensors: tensors.map(({ name, shape }) => ({ name, shape: [...shape] })) };
  const flat = new Float32Array(parameterCount(header));
  let offset = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== size) throw new ProtocolError('MALFORMED', `tensor ${t.name}: shape [${t.shape.join(',')}] needs ${size} values, got ${t.data.length}`);
    flat.set(t.data, offset);
    offset += size;
  }
  return encodeWeights(header, flat);
}

/** Parses and validates the header from the first bytes of a weights file. */
export function decodeWeightsHeader(prefix: Buffer): { header: WeightsHeader; dataOffset: number } {
  if (prefix.length < PREFIX_BYTES || !prefix.subarray(0, 4).equals(MAGIC)) {
    throw new ProtocolError('MALFORMED', 'not an lgefed weights file (bad magic)');
  }
  const length = prefix.readUInt32LE(4);
  if (prefix.length < PREFIX_BYTES + length) throw new ProtocolError('MALFORMED', 'weights header truncated');
  let parsed: unknown;
  try {
    parsed = JSON.parse(prefix.subarray(PREFIX_BYTES, PREFIX_BYTES + length).toString('utf8'));
  } catch {
    throw new ProtocolError('MALFORMED', 'weights header is not JSON');
  }
  const h = parsed as Partial<WeightsHeader>;
  const validTensors =
    Array.isArray(h.tensors) &&
    h.tensors.every((t) => typeof t?.name === 'string' && Array.isArray(t.shape) && t.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0));
  if (typeof h.architecture !== 'string' || !validTensors) {
    throw new ProtocolError('MALFORMED', 'weights header lacks architecture or a valid tensor layout');
  }
  return { header: h as WeightsHeader, dataOffset: PREFIX_BYTES + length };
}

export function decodeWeights(file: Buffer): { header: WeightsHeader; parameters: Float32Array } {
  const { header, dataOffset } = decodeWeightsHeader(file);
  const count = parameterCount(header);
  if (file.length !== dataOffset + count * 4) {
    throw new ProtocolError('MALFORMED', `weights file holds ${(file.length - dataOffset) / 4} values, header says ${count}`);
  }
  const parameters = new Float32Array(count);
  Buffer.from(parameters.buffer).set(file.subarray(dataOffset));
  return { header, parameters };
}

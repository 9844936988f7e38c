import { ProtocolError } from './errors.js';

/** Largest finite IEEE 754 half-precision value. */
export const FLOAT16_MAX = 65504;

const HALF_EXPONENT_MASK = 0x7c00;

/** Every half-precision bit pattern decoded once (256 KiB), so decoding is one table read. */
const HALF_TO_FLOAT = buildHalfTable();

function buildHalfTable(): Float32Array {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits & HALF_EXPONENT_MASK) >> 10;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * mantissa * 2 ** -24;
    else if (exponent === 31) table[bits] = mantissa ? NaN : sign * Infinity;
    else table[bits] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return table;
}

/** Smallest float32 bit pattern (sign cleared) that is a normal half: 2^-14. */
const MIN_NORMAL_HALF_AS_FLOAT = 0x38800000;
/** Smallest float32 bit pattern (sign cleared) that rounds past FLOAT16_MAX: 65520. */
const FIRST_OVERFLOW_AS_FLOAT = 0x477ff000;

/**
 * Half-precision bits of the float32 whose raw bits (as int32) are `bits`, rounded to nearest, ties
 * to even. Returns -1 for NaN, infinity, and finite values that would round beyond FLOAT16_MAX.
 * Works on int32 so V8 keeps every value a small integer in the hot loop.
 */
function halfFromFloatBits(bits: number): number {
  const magnitude = bits & 0x7fffffff;
  let half: number;
  if (magnitude >= MIN_NORMAL_HALF_AS_FLOAT) {
    if (magnitude >= FIRST_OVERFLOW_AS_FLOAT) return -1;
    // Rebias the exponent (127 -> 15) and round the 13 dropped mantissa bits half-to-even in one
    // addition: 0xfff plus the kept lowest bit carries exactly when rounding up is due.
    half = (magnitude - 0x38000000 + 0xfff + ((magnitude >> 13) & 1)) >> 13;
  } else {
    const exponent = magnitude >> 23;
    if (exponent < 102) {
      half = 0; // below half the smallest subnormal (2^-25): rounds to zero
    } else {
      // Subnormal half: value / 2^-24, with the implicit leading 1 made explicit.
      const significand = (magnitude & 0x7fffff) | 0x800000;
      const shift = 126 - exponent;
      half = significand >> shift;
      const dropped = significand & ((1 << shift) - 1);
      const tie = 1 << (shift - 1);
      if (dropped > tie || (dropped === tie && (half & 1) === 1)) half++;
    }
  }
  return ((bits >> 16) & 0x8000) | half;
}

/** Half-precision bits of one value; throws NON_FINITE for NaN, infinity and |value| beyond FLOAT16_MAX. */
export function float32ToFloat16Bits(value: number): number {
  const scratch = new Float32Array([value]);
  const half = halfFromFloatBits(new Int32Array(scratch.buffer)[0]!);
  if (half < 0) throw new ProtocolError('NON_FINITE', `${value} is not representable as a finite float16`);
  return half;
}

export function float16BitsToFloat32(bits: number): number {
  return HALF_TO_FLOAT[bits & 0xffff]!;
}

/** Float32 values to half-precision bits; throws NON_FINITE naming the first unrepresentable index. */
export function toFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  encodeFloat16(values, 0, values.length, out);
  return out;
}

/** Half-precision bits back to float32; throws NON_FINITE for NaN or infinity patterns. */
export function fromFloat16(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  decodeFloat16(bits, out, 0);
  return out;
}

/** Converts `count` values of `source` from `start` into `target` (from 0). The hot loop: no allocation. */
export function encodeFloat16(source: Float32Array, start: number, count: number, target: Uint16Array): void {
  const bits = new Int32Array(source.buffer, source.byteOffset + start * 4, count);
  for (let i = 0; i < count; i++) {
    const half = halfFromFloatBits(bits[i]!);
    if (half < 0) {
      throw new ProtocolError('NON_FINITE', `value ${source[start + i]} at element ${start + i} is not representable as a finite float16`, {
        element: start + i,
      });
    }
    target[i] = half;
  }
}

/** Converts all of `source` into `target` from `start`; throws NON_FINITE for NaN or infinity patterns. */
export function decodeFloat16(source: Uint16Array, target: Float32Array, start: number): void {
  for (let i = 0; i < source.length; i++) {
    const half = source[i]!;
    if ((half & HALF_EXPONENT_MASK) === HALF_EXPONENT_MASK) {
      throw new ProtocolError('NON_FINITE', `float16 element ${start + i} is NaN or infinite`, { element: start + i });
    }
    target[start + i] = HALF_TO_FLOAT[half]!;
  }
}

/** Index of the first NaN or infinity in `values`, or -1; scans raw bits (exponent all ones). */
export function firstNonFinite(values: Float32Array): number {
  const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
  const n = bits.length;
  let i = 0;
  // Four at a time without branches: an all-ones exponent plus one exponent step sets the sign bit.
  for (; i + 3 < n; i += 4) {
    const any =
      (((bits[i]! & 0x7f800000) + 0x00800000) |
        ((bits[i + 1]! & 0x7f800000) + 0x00800000) |
        ((bits[i + 2]! & 0x7f800000) + 0x00800000) |
        ((bits[i + 3]! & 0x7f800000) + 0x00800000)) <
      0;
    if (any) break;
  }
  for (; i < n; i++) {
    if ((bits[i]! & 0x7f800000) === 0x7f800000) return i;
  }
  return -1;
}

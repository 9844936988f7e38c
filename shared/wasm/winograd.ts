/**
 * Stride-1 3x3 convolution by Winograd's minimal filtering F(2x2, 3x3) or, with the transforms of
 * winograd-f4.ts, F(4x4, 3x3) (Lavin & Gray 2016). F(2x2, 3x3): each
 * 2x2 output tile is A^T [ (G g G^T) . (B^T d B) ] A over a 4x4 input patch d, so the products
 * over channels are 16 matrix products [tiles x CI] x [CI x CO] (one per transformed position)
 * instead of 9 per 2x2 output pixels' worth: 2.25x fewer multiplications than direct convolution.
 * NHWC x and out, filter [3, 3, CI, CO]; input channels and output channels in fours.
 *
 * A call works on a range of tiles (numbered over batch, tile row, tile column) in blocks of
 * `blockTiles`, so the transformed block (V: 16 x blockTiles x CI) and its products
 * (M: 16 x blockTiles x CO) stay in cache between the three steps. The products use the 4x8
 * register tile of filter-gradient.ts (splat loads of V, two vector loads of U).
 */

import { gradientTile4, outputTile4, panelled, transformPatch6 } from './winograd-f4';

const FLOAT: usize = 4;
/**
 * Bytes added between the positions of a block's transformed data: their natural stride is a
 * multiple of 4 KiB, so a tile's 16 loads or stores fell into one L1 cache set (more than its ways)
 * and aliased. Kept in step with POSITION_SKEW_FLOATS in shared/src/engine/kernels/conv2d-winograd.ts.
 */
const POSITION_SKEW: usize = 64;
/**
 * Bytes added to each row (tile) of a block's transformed data, for the same reason: the filter
 * gradient walks down rows, a multiple of 1-4 KiB apart at 256-1024 channels. Kept in step with
 * ROW_SKEW_FLOATS in conv2d-winograd.ts.
 */
const ROW_SKEW: usize = 16;
/** Input channels per pass of the products: a panel's share (KC x 8 floats, 8 KiB) stays in L1. */
const KC: i32 = 256;

/**
 * U[p] = (G g G^T) for every (ci, co), g = filter[:, :, ci, co], p = 4 * row + column;
 * G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]; each position's [CI, CO] matrix
 * in panels of 8 output channels (see `panelled`).
 */
export function winogradFilter(filter: usize, u: usize, inChannels: i32, outChannels: i32): void {
  const pairs = <usize>inChannels * <usize>outChannels;
  const tap = pairs * FLOAT;
  const half = f32x4.splat(0.5);
  for (let i: usize = 0; i < pairs; i += 4) {
    const g = filter + i * FLOAT;
    const o = u + panelled(i, inChannels, outChannels) * FLOAT;
    // Along the filter's rows (kh), one column kw at a time: a[row][kw].
    const g00 = v128.load(g), g01 = v128.load(g + tap), g02 = v128.load(g + 2 * tap);
    const g10 = v128.load(g + 3 * tap), g11 = v128.load(g + 4 * tap), g12 = v128.load(g + 5 * tap);
    const g20 = v128.load(g + 6 * tap), g21 = v128.load(g + 7 * tap), g22 = v128.load(g + 8 * tap);
    const a00 = g00, a01 = g01, a02 = g02;
    const a10 = f32x4.mul(half, f32x4.add(f32x4.add(g00, g10), g20));
    const a11 = f32x4.mul(half, f32x4.add(f32x4.add(g01, g11), g21));
    const a12 = f32x4.mul(half, f32x4.add(f32x4.add(g02, g12), g22));
    const a20 = f32x4.mul(half, f32x4.add(f32x4.sub(g00, g10), g20));
    const a21 = f32x4.mul(half, f32x4.add(f32x4.sub(g01, g11), g21));
    const a22 = f32x4.mul(half, f32x4.add(f32x4.sub(g02, g12), g22));
    const a30 = g20, a31 = g21, a32 = g22;
    // Along the columns: u[row][0..3] from a[row][0..2].
    storeRow(o, tap, 0, a00, a01, a02, half);
    storeRow(o, tap, 4, a10, a11, a12, half);
    storeRow(o, tap, 8, a20, a21, a22, half);
    storeRow(o, tap, 12, a30, a31, a32, half);
  }
}

@inline
function storeRow(o: usize, tap: usize, first: usize, a0: v128, a1: v128, a2: v128, half: v128): void {
  v128.store(o + first * tap, a0);
  v128.store(o + (first + 1) * tap, f32x4.mul(half, f32x4.add(f32x4.add(a0, a1), a2)));
  v128.store(o + (first + 2) * tap, f32x4.mul(half, f32x4.add(f32x4.sub(a0, a1), a2)));
  v128.store(o + (first + 3) * tap, a2);
}

/**
 * V[p][t][ci..ci+3] = (B^T d B)[p] for a 4x4 patch whose pixel (r, c) is at
 * patch + r * rowBytes + c * pixelBytes; B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]].
 */
@inline
function transformPatch(patch: usize, rowBytes: usize, pixelBytes: usize, inChannels: i32, v: usize, positionBytes: usize): void {
  for (let ci = 0; ci < inChannels; ci += 4) {
    const p0 = patch + <usize>ci * FLOAT;
    const p1 = p0 + rowBytes, p2 = p1 + rowBytes, p3 = p2 + rowBytes;
    // Along rows first (B^T d): r[row][c].
    const d00 = v128.load(p0), d01 = v128.load(p0 + pixelBytes), d02 = v128.load(p0 + 2 * pixelBytes), d03 = v128.load(p0 + 3 * pixelBytes);
    const d10 = v128.load(p1), d11 = v128.load(p1 + pixelBytes), d12 = v128.load(p1 + 2 * pixelBytes), d13 = v128.load(p1 + 3 * pixelBytes);
    const d20 = v128.load(p2), d21 = v128.load(p2 + pixelBytes), d22 = v128.load(p2 + 2 * pixelBytes), d23 = v128.load(p2 + 3 * pixelBytes);
    const d30 = v128.load(p3), d31 = v128.load(p3 + pixelBytes), d32 = v128.load(p3 + 2 * pixelBytes), d33 = v128.load(p3 + 3 * pixelBytes);
    const o = v + <usize>ci * FLOAT;
    transformColumns(o, positionBytes, 0, f32x4.sub(d00, d20), f32x4.sub(d01, d21), f32x4.sub(d02, d22), f32x4.sub(d03, d23));
    transformColumns(o, positionBytes, 4, f32x4.add(d10, d20), f32x4.add(d11, d21), f32x4.add(d12, d22), f32x4.add(d13, d23));
    transformColumns(o, positionBytes, 8, f32x4.sub(d20, d10), f32x4.sub(d21, d11), f32x4.sub(d22, d12), f32x4.sub(d23, d13));
    transformColumns(o, positionBytes, 12, f32x4.sub(d10, d30), f32x4.sub(d11, d31), f32x4.sub(d12, d32), f32x4.sub(d13, d33));
  }
}

@inline
function transformColumns(o: usize, positionBytes: usize, first: usize, r0: v128, r1: v128, r2: v128, r3: v128): void {
  v128.store(o + first * positionBytes, f32x4.sub(r0, r2));
  v128.store(o + (first + 1) * positionBytes, f32x4.add(r1, r2));
  v128.store(o + (first + 2) * positionBytes, f32x4.sub(r2, r1));
  v128.store(o + (first + 3) * positionBytes, f32x4.sub(r1, r3));
}

/**
 * M[rows r0..r0+3][co0..co0+7] = (or, with `onto`, +=) V rows . U columns over `count` input
 * channels (one position).
 */
@inline
function product4x8(v: usize, u: usize, m: usize, count: i32, vRow: usize, uRow: usize, mRow: usize, onto: bool): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  if (onto) {
    a0 = v128.load(m); a1 = v128.load(m, 16);
    b0 = v128.load(m + mRow); b1 = v128.load(m + mRow, 16);
    c0 = v128.load(m + 2 * mRow); c1 = v128.load(m + 2 * mRow, 16);
    d0 = v128.load(m + 3 * mRow); d1 = v128.load(m + 3 * mRow, 16);
  }
  let vp = v, up = u;
  for (let k = 0; k < count; k++, vp += FLOAT, up += uRow) {
    const g0 = v128.load(up);
    const g1 = v128.load(up, 16);
    const s0 = v128.load32_splat(vp);
    a0 = f32x4.add(a0, f32x4.mul(s0, g0));
    a1 = f32x4.add(a1, f32x4.mul(s0, g1));
    const s1 = v128.load32_splat(vp + vRow);
    b0 = f32x4.add(b0, f32x4.mul(s1, g0));
    b1 = f32x4.add(b1, f32x4.mul(s1, g1));
    const s2 = v128.load32_splat(vp + 2 * vRow);
    c0 = f32x4.add(c0, f32x4.mul(s2, g0));
    c1 = f32x4.add(c1, f32x4.mul(s2, g1));
    const s3 = v128.load32_splat(vp + 3 * vRow);
    d0 = f32x4.add(d0, f32x4.mul(s3, g0));
    d1 = f32x4.add(d1, f32x4.mul(s3, g1));
  }
  v128.store(m, a0);
  v128.store(m, a1, 16);
  v128.store(m + mRow, b0);
  v128.store(m + mRow, b1, 16);
  v128.store(m + 2 * mRow, c0);
  v128.store(m + 2 * mRow, c1, 16);
  v128.store(m + 3 * mRow, d0);
  v128.store(m + 3 * mRow, d1, 16);
}

/** The same for output channels co0..co0+3 (what is left after eights). */
@inline
function product4x4(v: usize, u: usize, m: usize, count: i32, vRow: usize, uRow: usize, mRow: usize, onto: bool): void {
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  if (onto) {
    a = v128.load(m); b = v128.load(m + mRow); c = v128.load(m + 2 * mRow); d = v128.load(m + 3 * mRow);
  }
  let vp = v, up = u;
  for (let k = 0; k < count; k++, vp += FLOAT, up += uRow) {
    const g = v128.load(up);
    a = f32x4.add(a, f32x4.mul(v128.load32_splat(vp), g));
    b = f32x4.add(b, f32x4.mul(v128.load32_splat(vp + vRow), g));
    c = f32x4.add(c, f32x4.mul(v128.load32_splat(vp + 2 * vRow), g));
    d = f32x4.add(d, f32x4.mul(v128.load32_splat(vp + 3 * vRow), g));
  }
  v128.store(m, a);
  v128.store(m + mRow, b);
  v128.store(m + 2 * mRow, c);
  v128.store(m + 3 * mRow, d);
}

/**
 * M[p] = V[p] . U[p] for `positions` transformed positions of a block of `rows` tiles (a multiple of
 * 4): input channels KC at a time (a panel's share then stays in L1 across the rows), panels of 8
 * output channels, then the 4-wide one; a panel is [CI][width] (see winogradFilter).
 */
function products(
  v: usize, u: usize, m: usize, rows: i32, positions: i32, inChannels: i32, outChannels: i32,
  vRow: usize, mRow: usize, vPosition: usize, mPosition: usize,
): void {
  const uPosition = <usize>inChannels * <usize>outChannels * FLOAT;
  const coEights = outChannels & ~7;
  for (let p = 0; p < positions; p++) {
    const vp = v + <usize>p * vPosition;
    const up = u + <usize>p * uPosition;
    const mp = m + <usize>p * mPosition;
    for (let k0 = 0; k0 < inChannels; k0 += KC) {
      const count = inChannels - k0 < KC ? inChannels - k0 : KC;
      const vk = vp + <usize>k0 * FLOAT;
      let co = 0;
      for (; co < coEights; co += 8) {
        const panel = up + <usize>(co * inChannels + k0 * 8) * FLOAT;
        for (let r = 0; r < rows; r += 4) {
          product4x8(vk + <usize>r * vRow, panel, mp + <usize>r * mRow + <usize>co * FLOAT, count, vRow, 8 * FLOAT, mRow, k0 > 0);
        }
      }
      if (co < outChannels) {
        const panel = up + <usize>(co * inChannels + k0 * 4) * FLOAT;
        for (let r = 0; r < rows; r += 4) {
          product4x4(vk + <usize>r * vRow, panel, mp + <usize>r * mRow + <usize>co * FLOAT, count, vRow, 4 * FLOAT, mRow, k0 > 0);
        }
      }
    }
  }
}

/**
 * Copies the pixels of the side x side input patch at (ih, iw) of image b that lie inside the image
 * into `patch` (side x side pixels of ciBytes), zero elsewhere: the padding of border tiles.
 */
function gatherPatch(x: usize, patch: usize, side: i32, b: i32, ih: i32, iw: i32, height: i32, width: i32, ciBytes: usize): void {
  memory.fill(patch, 0, <usize>(side * side) * ciBytes);
  for (let r = 0; r < side; r++) {
    const row = ih + r;
    if (row < 0 || row >= height) continue;
    for (let c = 0; c < side; c++) {
      const column = iw + c;
      if (column < 0 || column >= width) continue;
      memory.copy(patch + <usize>(r * side + c) * ciBytes, x + (<usize>(b * height + row) * <usize>width + <usize>column) * ciBytes, ciBytes);
    }
  }
}

/** The 2x2 output tile (rows x columns of it inside the output) from M at mt: A^T M A, A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]. */
@inline
function outputTile2(mt: usize, mPosition: usize, outChannels: i32, o: usize, coBytes: usize, outRow: usize, rows: i32, columns: i32): void {
  for (let co = 0; co < outChannels; co += 4) {
    const q = mt + <usize>co * FLOAT;
    const m00 = v128.load(q), m01 = v128.load(q + mPosition), m02 = v128.load(q + 2 * mPosition), m03 = v128.load(q + 3 * mPosition);
    const m10 = v128.load(q + 4 * mPosition), m11 = v128.load(q + 5 * mPosition), m12 = v128.load(q + 6 * mPosition), m13 = v128.load(q + 7 * mPosition);
    const m20 = v128.load(q + 8 * mPosition), m21 = v128.load(q + 9 * mPosition), m22 = v128.load(q + 10 * mPosition), m23 = v128.load(q + 11 * mPosition);
    const m30 = v128.load(q + 12 * mPosition), m31 = v128.load(q + 13 * mPosition), m32 = v128.load(q + 14 * mPosition), m33 = v128.load(q + 15 * mPosition);
    // Along rows: s[row][0] = m0 + m1 + m2, s[row][1] = m1 - m2 - m3.
    const s00 = f32x4.add(f32x4.add(m00, m01), m02), s01 = f32x4.sub(f32x4.sub(m01, m02), m03);
    const s10 = f32x4.add(f32x4.add(m10, m11), m12), s11 = f32x4.sub(f32x4.sub(m11, m12), m13);
    const s20 = f32x4.add(f32x4.add(m20, m21), m22), s21 = f32x4.sub(f32x4.sub(m21, m22), m23);
    const s30 = f32x4.add(f32x4.add(m30, m31), m32), s31 = f32x4.sub(f32x4.sub(m31, m32), m33);
    const oc = o + <usize>co * FLOAT;
    v128.store(oc, f32x4.add(f32x4.add(s00, s10), s20));
    if (columns > 1) v128.store(oc + coBytes, f32x4.add(f32x4.add(s01, s11), s21));
    if (rows > 1) {
      v128.store(oc + outRow, f32x4.sub(f32x4.sub(s10, s20), s30));
      if (columns > 1) v128.store(oc + outRow + coBytes, f32x4.sub(f32x4.sub(s11, s21), s31));
    }
  }
}

/** Z = A dY A^T of the 2x2 output-gradient tile at g (rows x columns of it inside; zero beyond), A = [[1, 0], [1, 1], [1, -1], [0, -1]]. */
@inline
function gradientTile2(g: usize, dyRow: usize, coBytes: usize, outChannels: i32, z: usize, zPosition: usize, rows: i32, columns: i32): void {
  const zero = f32x4.splat(0);
  for (let co = 0; co < outChannels; co += 4) {
    const q = g + <usize>co * FLOAT;
    const y00 = v128.load(q);
    const y01 = columns > 1 ? v128.load(q + coBytes) : zero;
    const y10 = rows > 1 ? v128.load(q + dyRow) : zero;
    const y11 = rows > 1 && columns > 1 ? v128.load(q + dyRow + coBytes) : zero;
    const o = z + <usize>co * FLOAT;
    // Along rows: b[r][c] from the column (y0c, y1c), then along columns.
    spreadColumns(o, zPosition, 0, y00, y01);
    spreadColumns(o, zPosition, 4, f32x4.add(y00, y10), f32x4.add(y01, y11));
    spreadColumns(o, zPosition, 8, f32x4.sub(y00, y10), f32x4.sub(y01, y11));
    spreadColumns(o, zPosition, 12, f32x4.neg(y10), f32x4.neg(y11));
  }
}

/** Transformed positions of the input patch of an output tile of side `tile` (2 or 4). */
@inline
function positionsOf(tile: i32): i32 {
  return (tile + 2) * (tile + 2);
}

/**
 * V for tiles [t0, t0 + tiles): each tile's input patch (side tile + 2, at (tile * ty - top,
 * tile * tx - left), zero outside the image) through B^T d B.
 */
function inputBlock(
  x: usize, v: usize, patch: usize, tmp: usize, t0: i32, tiles: i32, tile: i32,
  height: i32, width: i32, inChannels: i32, outHeight: i32, outWidth: i32, top: i32, left: i32, vRow: usize, vPosition: usize,
): void {
  const side = tile + 2;
  const ciBytes = <usize>inChannels * FLOAT;
  const xRow = <usize>width * ciBytes;
  const tileColumns = (outWidth + tile - 1) / tile;
  const perImage = ((outHeight + tile - 1) / tile) * tileColumns;
  for (let j = 0; j < tiles; j++) {
    const t = t0 + j;
    const b = t / perImage;
    const ty = (t - b * perImage) / tileColumns;
    const tx = t - b * perImage - ty * tileColumns;
    const ih = tile * ty - top;
    const iw = tile * tx - left;
    let at = x + (<usize>(b * height + ih) * <usize>width + <usize>iw) * ciBytes;
    let rowBytes = xRow;
    if (ih < 0 || iw < 0 || ih + side > height || iw + side > width) {
      gatherPatch(x, patch, side, b, ih, iw, height, width, ciBytes);
      at = patch;
      rowBytes = <usize>side * ciBytes;
    }
    const vTile = v + <usize>j * vRow;
    if (tile == 4) transformPatch6(at, rowBytes, ciBytes, inChannels, vTile, vPosition, tmp);
    else transformPatch(at, rowBytes, ciBytes, inChannels, vTile, vPosition);
  }
}

/**
 * Blocks of tiles [firstTile, firstTile + tileCount) (numbered over image, tile row, tile column) of
 * the convolution of x (NHWC, [*, height, width, inChannels]) whose output pixel (oh, ow) reads
 * x[oh + kh - top, ow + kw - left] (zero outside), output [*, outHeight, outWidth, outChannels]:
 * - forward (`gradient` false): out = the convolution, with `operand` U from winogradFilter (tile 2)
 *   or winograd4Filter (tile 4) and `target` out;
 * - filter gradient: with `operand` dy, sums dL/dU[p] = (A dY A^T)[p] . V[p] over the tiles into
 *   `target` acc[p][ci][co] (positions x inChannels x outChannels floats); winogradFilterGradientOut
 *   or winograd4FilterGradientOut then gives dW = G^T (dL/dU) G.
 * blockTiles is a multiple of 4. `scratch` holds V (positions x blockTiles x inChannels), M or Z
 * (positions x blockTiles x outChannels), both with ROW_SKEW per row and POSITION_SKEW per position,
 * one zero-padded input patch (positions x inChannels) and the F(4x4) transform buffer (52 vectors),
 * as the TS side's plan sizes it.
 */
function blocks(
  x: usize, operand: usize, target: usize, scratch: usize,
  firstTile: i32, tileCount: i32, blockTiles: i32, tile: i32,
  height: i32, width: i32, inChannels: i32, outHeight: i32, outWidth: i32, outChannels: i32, top: i32, left: i32,
  gradient: bool,
): void {
  const positions = positionsOf(tile);
  const ciBytes = <usize>inChannels * FLOAT;
  const coBytes = <usize>outChannels * FLOAT;
  const vRow = ciBytes + ROW_SKEW;
  const mRow = coBytes + ROW_SKEW;
  const vPosition = <usize>blockTiles * vRow + POSITION_SKEW;
  const mPosition = <usize>blockTiles * mRow + POSITION_SKEW;
  const v = scratch;
  const m = v + <usize>positions * vPosition;
  const patch = m + <usize>positions * mPosition;
  const tmp = patch + <usize>positions * ciBytes;
  const tileColumns = (outWidth + tile - 1) / tile;
  const perImage = ((outHeight + tile - 1) / tile) * tileColumns;
  const outRow = <usize>outWidth * coBytes;
  const end = firstTile + tileCount;
  for (let t0 = firstTile; t0 < end; t0 += blockTiles) {
    const tiles = end - t0 < blockTiles ? end - t0 : blockTiles;
    inputBlock(x, v, patch, tmp, t0, tiles, tile, height, width, inChannels, outHeight, outWidth, top, left, vRow, vPosition);
    if (!gradient) {
      // M = V . U per position over rows to the next four (those past `tiles` zero).
      const rows = (tiles + 3) & ~3;
      for (let j = tiles; j < rows; j++) {
        for (let p = 0; p < positions; p++) memory.fill(v + <usize>p * vPosition + <usize>j * vRow, 0, ciBytes);
      }
      products(v, operand, m, rows, positions, inChannels, outChannels, vRow, mRow, vPosition, mPosition);
    }
    // Each tile's output (forward) or its output gradient's transform Z (in M's place), what of the tile lies inside the output.
    for (let j = 0; j < tiles; j++) {
      const t = t0 + j;
      const b = t / perImage;
      const ty = (t - b * perImage) / tileColumns;
      const tx = t - b * perImage - ty * tileColumns;
      const oh = tile * ty;
      const ow = tile * tx;
      const rowsInside = outHeight - oh < tile ? outHeight - oh : tile;
      const columnsInside = outWidth - ow < tile ? outWidth - ow : tile;
      const pixel = (<usize>(b * outHeight + oh) * <usize>outWidth + <usize>ow) * coBytes;
      const mt = m + <usize>j * mRow;
      if (gradient) {
        if (tile == 4) gradientTile4(operand + pixel, outRow, coBytes, outChannels, mt, mPosition, rowsInside, columnsInside, tmp);
        else gradientTile2(operand + pixel, outRow, coBytes, outChannels, mt, mPosition, rowsInside, columnsInside);
      } else if (tile == 4) {
        outputTile4(mt, mPosition, outChannels, target + pixel, coBytes, outRow, rowsInside, columnsInside, tmp);
      } else {
        outputTile2(mt, mPosition, outChannels, target + pixel, coBytes, outRow, rowsInside, columnsInside);
      }
    }
    if (gradient) accumulateProducts(v, m, target, tiles, positions, inChannels, outChannels, vRow, mRow, vPosition, mPosition);
  }
}

/** The forward convolution of `blocks`: out from x and U. */
export function winogradConv(
  x: usize, u: usize, out: usize, scratch: usize,
  firstTile: i32, tileCount: i32, blockTiles: i32, tile: i32,
  height: i32, width: i32, inChannels: i32, outHeight: i32, outWidth: i32, outChannels: i32, top: i32, left: i32,
): void {
  blocks(x, u, out, scratch, firstTile, tileCount, blockTiles, tile, height, width, inChannels, outHeight, outWidth, outChannels, top, left, false);
}

/** The filter gradient of `blocks`: the Winograd-domain accumulators from x and dy. */
export function winogradFilterGradient(
  x: usize, dy: usize, acc: usize, scratch: usize,
  firstTile: i32, tileCount: i32, blockTiles: i32, tile: i32,
  height: i32, width: i32, inChannels: i32, outHeight: i32, outWidth: i32, outChannels: i32, top: i32, left: i32,
): void {
  blocks(x, dy, acc, scratch, firstTile, tileCount, blockTiles, tile, height, width, inChannels, outHeight, outWidth, outChannels, top, left, true);
}

/** acc[p] += V[p]^T Z[p] over a block's `tiles` rows, for `positions` transformed positions. */
function accumulateProducts(
  v: usize, z: usize, acc: usize, tiles: i32, positions: i32, inChannels: i32, outChannels: i32,
  vRow: usize, zRow: usize, vPosition: usize, zPosition: usize,
): void {
  const coBytes = <usize>outChannels * FLOAT;
  const accPosition = <usize>inChannels * coBytes;
  const coEights = outChannels & ~7;
  for (let p = 0; p < positions; p++) {
    const vp = v + <usize>p * vPosition;
    const zp = z + <usize>p * zPosition;
    const ap = acc + <usize>p * accPosition;
    for (let ci = 0; ci < inChannels; ci += 4) {
      const vc = vp + <usize>ci * FLOAT;
      const ac = ap + <usize>ci * coBytes;
      let co = 0;
      for (; co < coEights; co += 8) accumulate4x8(vc, zp + <usize>co * FLOAT, ac + <usize>co * FLOAT, tiles, vRow, zRow, coBytes);
      for (; co < outChannels; co += 4) accumulate4x4(vc, zp + <usize>co * FLOAT, ac + <usize>co * FLOAT, tiles, vRow, zRow, coBytes);
    }
  }
}

@inline
function spreadColumns(o: usize, positionBytes: usize, first: usize, b0: v128, b1: v128): void {
  v128.store(o + first * positionBytes, b0);
  v128.store(o + (first + 1) * positionBytes, f32x4.add(b0, b1));
  v128.store(o + (first + 2) * positionBytes, f32x4.sub(b0, b1));
  v128.store(o + (first + 3) * positionBytes, f32x4.neg(b1));
}

/** acc[ci..ci+3][co..co+7] += sum over k < rows of V[k][ci..ci+3] (splat) x Z[k][co..co+7]. */
@inline
function accumulate4x8(v: usize, z: usize, acc: usize, rows: i32, vRow: usize, zRow: usize, accRow: usize): void {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0), d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  let vp = v, zp = z;
  for (let k = 0; k < rows; k++, vp += vRow, zp += zRow) {
    const g0 = v128.load(zp);
    const g1 = v128.load(zp, 16);
    const s0 = v128.load32_splat(vp);
    a0 = f32x4.add(a0, f32x4.mul(s0, g0));
    a1 = f32x4.add(a1, f32x4.mul(s0, g1));
    const s1 = v128.load32_splat(vp, 4);
    b0 = f32x4.add(b0, f32x4.mul(s1, g0));
    b1 = f32x4.add(b1, f32x4.mul(s1, g1));
    const s2 = v128.load32_splat(vp, 8);
    c0 = f32x4.add(c0, f32x4.mul(s2, g0));
    c1 = f32x4.add(c1, f32x4.mul(s2, g1));
    const s3 = v128.load32_splat(vp, 12);
    d0 = f32x4.add(d0, f32x4.mul(s3, g0));
    d1 = f32x4.add(d1, f32x4.mul(s3, g1));
  }
  const row = accRow;
  v128.store(acc, f32x4.add(v128.load(acc), a0));
  v128.store(acc, f32x4.add(v128.load(acc, 16), a1), 16);
  v128.store(acc + row, f32x4.add(v128.load(acc + row), b0));
  v128.store(acc + row, f32x4.add(v128.load(acc + row, 16), b1), 16);
  v128.store(acc + 2 * row, f32x4.add(v128.load(acc + 2 * row), c0));
  v128.store(acc + 2 * row, f32x4.add(v128.load(acc + 2 * row, 16), c1), 16);
  v128.store(acc + 3 * row, f32x4.add(v128.load(acc + 3 * row), d0));
  v128.store(acc + 3 * row, f32x4.add(v128.load(acc + 3 * row, 16), d1), 16);
}

/** The same for output channels co..co+3 (what is left after eights). */
@inline
function accumulate4x4(v: usize, z: usize, acc: usize, rows: i32, vRow: usize, zRow: usize, accRow: usize): void {
  let a = f32x4.splat(0), b = f32x4.splat(0), c = f32x4.splat(0), d = f32x4.splat(0);
  let vp = v, zp = z;
  for (let k = 0; k < rows; k++, vp += vRow, zp += zRow) {
    const g = v128.load(zp);
    a = f32x4.add(a, f32x4.mul(v128.load32_splat(vp), g));
    b = f32x4.add(b, f32x4.mul(v128.load32_splat(vp, 4), g));
    c = f32x4.add(c, f32x4.mul(v128.load32_splat(vp, 8), g));
    d = f32x4.add(d, f32x4.mul(v128.load32_splat(vp, 12), g));
  }
  const row = accRow;
  v128.store(acc, f32x4.add(v128.load(acc), a));
  v128.store(acc + row, f32x4.add(v128.load(acc + row), b));
  v128.store(acc + 2 * row, f32x4.add(v128.load(acc + 2 * row), c));
  v128.store(acc + 3 * row, f32x4.add(v128.load(acc + 3 * row), d));
}

/**
 * dW [3, 3, CI, CO] = G^T (sum of `partials` accumulator sets, `partialBytes` apart) G,
 * G^T = [[1, 1/2, 1/2, 0], [0, 1/2, -1/2, 0], [0, 1/2, 1/2, 1]].
 */
export function winogradFilterGradientOut(acc: usize, partials: i32, partialBytes: usize, dw: usize, inChannels: i32, outChannels: i32): void {
  const pairs = <usize>inChannels * <usize>outChannels;
  const tap = pairs * FLOAT;
  const half = f32x4.splat(0.5);
  for (let i: usize = 0; i < pairs; i += 4) {
    const a = acc + i * FLOAT;
    let m00 = v128.load(a), m01 = v128.load(a + tap), m02 = v128.load(a + 2 * tap), m03 = v128.load(a + 3 * tap);
    let m10 = v128.load(a + 4 * tap), m11 = v128.load(a + 5 * tap), m12 = v128.load(a + 6 * tap), m13 = v128.load(a + 7 * tap);
    let m20 = v128.load(a + 8 * tap), m21 = v128.load(a + 9 * tap), m22 = v128.load(a + 10 * tap), m23 = v128.load(a + 11 * tap);
    let m30 = v128.load(a + 12 * tap), m31 = v128.load(a + 13 * tap), m32 = v128.load(a + 14 * tap), m33 = v128.load(a + 15 * tap);
    for (let t = 1; t < partials; t++) {
      const q = a + <usize>t * partialBytes;
      m00 = f32x4.add(m00, v128.load(q)); m01 = f32x4.add(m01, v128.load(q + tap));
      m02 = f32x4.add(m02, v128.load(q + 2 * tap)); m03 = f32x4.add(m03, v128.load(q + 3 * tap));
      m10 = f32x4.add(m10, v128.load(q + 4 * tap)); m11 = f32x4.add(m11, v128.load(q + 5 * tap));
      m12 = f32x4.add(m12, v128.load(q + 6 * tap)); m13 = f32x4.add(m13, v128.load(q + 7 * tap));
      m20 = f32x4.add(m20, v128.load(q + 8 * tap)); m21 = f32x4.add(m21, v128.load(q + 9 * tap));
      m22 = f32x4.add(m22, v128.load(q + 10 * tap)); m23 = f32x4.add(m23, v128.load(q + 11 * tap));
      m30 = f32x4.add(m30, v128.load(q + 12 * tap)); m31 = f32x4.add(m31, v128.load(q + 13 * tap));
      m32 = f32x4.add(m32, v128.load(q + 14 * tap)); m33 = f32x4.add(m33, v128.load(q + 15 * tap));
    }
    // Along rows: a[kh][c] for each column c.
    const a00 = f32x4.add(m00, f32x4.mul(half, f32x4.add(m10, m20)));
    const a01 = f32x4.add(m01, f32x4.mul(half, f32x4.add(m11, m21)));
    const a02 = f32x4.add(m02, f32x4.mul(half, f32x4.add(m12, m22)));
    const a03 = f32x4.add(m03, f32x4.mul(half, f32x4.add(m13, m23)));
    const a10 = f32x4.mul(half, f32x4.sub(m10, m20));
    const a11 = f32x4.mul(half, f32x4.sub(m11, m21));
    const a12 = f32x4.mul(half, f32x4.sub(m12, m22));
    const a13 = f32x4.mul(half, f32x4.sub(m13, m23));
    const a20 = f32x4.add(m30, f32x4.mul(half, f32x4.add(m10, m20)));
    const a21 = f32x4.add(m31, f32x4.mul(half, f32x4.add(m11, m21)));
    const a22 = f32x4.add(m32, f32x4.mul(half, f32x4.add(m12, m22)));
    const a23 = f32x4.add(m33, f32x4.mul(half, f32x4.add(m13, m23)));
    const o = dw + i * FLOAT;
    gradientRow(o, tap, 0, a00, a01, a02, a03, half);
    gradientRow(o, tap, 3, a10, a11, a12, a13, half);
    gradientRow(o, tap, 6, a20, a21, a22, a23, half);
  }
}

@inline
function gradientRow(o: usize, tap: usize, first: usize, c0: v128, c1: v128, c2: v128, c3: v128, half: v128): void {
  v128.store(o + first * tap, f32x4.add(c0, f32x4.mul(half, f32x4.add(c1, c2))));
  v128.store(o + (first + 1) * tap, f32x4.mul(half, f32x4.sub(c1, c2)));
  v128.store(o + (first + 2) * tap, f32x4.add(c3, f32x4.mul(half, f32x4.add(c1, c2))));
}

/**
 * The transforms of Winograd F(4x4, 3x3) (Lavin & Gray 2016, points 0, 1, -1, 2, -2): each 4x4
 * output tile from a 6x6 input patch with 36 transformed positions, 4x fewer multiplications than
 * direct convolution (F(2x2, 3x3) saves 2.25x) for transforms of about the same cost per output
 * pixel. winograd.ts's drivers, blocks and products run both; this file holds the per-tile
 * transforms and the filter's. The 2D transforms go through a small buffer (`tmp`, 52 vectors:
 * 36 for a 6x6 pass, 16 for a partial 4x4 tile): rows first, then columns.
 *
 *   B^T = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
 *          [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
 *   G   = [[1/4, 0, 0], [-1/6, -1/6, -1/6], [-1/6, 1/6, -1/6], [1/24, 1/12, 1/6], [1/24, -1/12, 1/6], [0, 0, 1]]
 *   A^T = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]
 */
const FLOAT: usize = 4;
const VECTOR: usize = 16;
const SIDE: i32 = 6;
const POSITIONS: i32 = 36;
/** Output channels per panel of a transformed filter (the products' register tile width). */
const PANEL: i32 = 8;
/** The transform buffer: 36 vectors for a 6x6 pass, then 16 for a 4x4 tile (TMP_FLOATS in conv2d-winograd.ts). */
const TMP_PASS_BYTES: usize = 36 * 16;

/** B^T along one line: 6 vectors `ss` apart from s into 6 vectors `ds` apart at d. */
@inline
function inputLine(s: usize, ss: usize, d: usize, ds: usize): void {
  const x0 = v128.load(s), x1 = v128.load(s + ss), x2 = v128.load(s + 2 * ss);
  const x3 = v128.load(s + 3 * ss), x4 = v128.load(s + 4 * ss), x5 = v128.load(s + 5 * ss);
  const four = f32x4.splat(4), five = f32x4.splat(5), two = f32x4.splat(2);
  const x4m2 = f32x4.sub(x4, x2);
  const x3m1 = f32x4.mul(two, f32x4.sub(x3, x1));
  v128.store(d, f32x4.add(f32x4.sub(f32x4.mul(four, x0), f32x4.mul(five, x2)), x4));
  v128.store(d + ds, f32x4.sub(f32x4.add(x3, x4), f32x4.mul(four, f32x4.add(x1, x2))));
  v128.store(d + 2 * ds, f32x4.add(f32x4.sub(x4, x3), f32x4.mul(four, f32x4.sub(x1, x2))));
  v128.store(d + 3 * ds, f32x4.add(x4m2, x3m1));
  v128.store(d + 4 * ds, f32x4.sub(x4m2, x3m1));
  v128.store(d + 5 * ds, f32x4.add(f32x4.sub(f32x4.mul(four, x1), f32x4.mul(five, x3)), x5));
}

/** G along one line: 3 vectors in, 6 out. */
@inline
function filterLine(s: usize, ss: usize, d: usize, ds: usize): void {
  const g0 = v128.load(s), g1 = v128.load(s + ss), g2 = v128.load(s + 2 * ss);
  const sixth = f32x4.splat(<f32>(1.0 / 6.0));
  const outer = f32x4.add(g0, g2);
  const quarterG0 = f32x4.mul(f32x4.splat(0.25), g0);
  const a = f32x4.add(f32x4.mul(f32x4.splat(<f32>(1.0 / 24.0)), g0), f32x4.mul(sixth, g2));
  const b = f32x4.mul(f32x4.splat(<f32>(1.0 / 12.0)), g1);
  v128.store(d, quarterG0);
  v128.store(d + ds, f32x4.mul(f32x4.neg(sixth), f32x4.add(outer, g1)));
  v128.store(d + 2 * ds, f32x4.mul(f32x4.neg(sixth), f32x4.sub(outer, g1)));
  v128.store(d + 3 * ds, f32x4.add(a, b));
  v128.store(d + 4 * ds, f32x4.sub(a, b));
  v128.store(d + 5 * ds, g2);
}

/** A^T along one line: 6 vectors in, 4 out. */
@inline
function outputLine(s: usize, ss: usize, d: usize, ds: usize): void {
  const m0 = v128.load(s), m1 = v128.load(s + ss), m2 = v128.load(s + 2 * ss);
  const m3 = v128.load(s + 3 * ss), m4 = v128.load(s + 4 * ss), m5 = v128.load(s + 5 * ss);
  const p12 = f32x4.add(m1, m2), d12 = f32x4.sub(m1, m2);
  const p34 = f32x4.add(m3, m4), d34 = f32x4.sub(m3, m4);
  v128.store(d, f32x4.add(f32x4.add(m0, p12), p34));
  v128.store(d + ds, f32x4.add(d12, f32x4.mul(f32x4.splat(2), d34)));
  v128.store(d + 2 * ds, f32x4.add(p12, f32x4.mul(f32x4.splat(4), p34)));
  v128.store(d + 3 * ds, f32x4.add(f32x4.add(d12, f32x4.mul(f32x4.splat(8), d34)), m5));
}

/** A (the transpose of A^T) along one line: 4 vectors of the output gradient in, 6 out. */
@inline
function gradientLine(s: usize, ss: usize, d: usize, ds: usize): void {
  const y0 = v128.load(s), y1 = v128.load(s + ss), y2 = v128.load(s + 2 * ss), y3 = v128.load(s + 3 * ss);
  const even = f32x4.add(y0, y2), odd = f32x4.add(y1, y3);
  const even2 = f32x4.add(y0, f32x4.mul(f32x4.splat(4), y2));
  const odd2 = f32x4.mul(f32x4.splat(2), f32x4.add(y1, f32x4.mul(f32x4.splat(4), y3)));
  v128.store(d, y0);
  v128.store(d + ds, f32x4.add(even, odd));
  v128.store(d + 2 * ds, f32x4.sub(even, odd));
  v128.store(d + 3 * ds, f32x4.add(even2, odd2));
  v128.store(d + 4 * ds, f32x4.sub(even2, odd2));
  v128.store(d + 5 * ds, y3);
}

/** G^T along one line: 6 vectors in, 3 out. */
@inline
function filterGradientLine(s: usize, ss: usize, d: usize, ds: usize): void {
  const m0 = v128.load(s), m1 = v128.load(s + ss), m2 = v128.load(s + 2 * ss);
  const m3 = v128.load(s + 3 * ss), m4 = v128.load(s + 4 * ss), m5 = v128.load(s + 5 * ss);
  const sixth = f32x4.splat(<f32>(1.0 / 6.0));
  const p12 = f32x4.add(m1, m2), p34 = f32x4.add(m3, m4);
  v128.store(d, f32x4.add(f32x4.sub(f32x4.mul(f32x4.splat(0.25), m0), f32x4.mul(sixth, p12)), f32x4.mul(f32x4.splat(<f32>(1.0 / 24.0)), p34)));
  v128.store(d + ds, f32x4.add(f32x4.mul(sixth, f32x4.sub(m2, m1)), f32x4.mul(f32x4.splat(<f32>(1.0 / 12.0)), f32x4.sub(m3, m4))));
  v128.store(d + 2 * ds, f32x4.add(f32x4.mul(sixth, f32x4.sub(p34, p12)), m5));
}

/**
 * Where pair i = ci * CO + co of a position's [CI, CO] matrix goes (in floats) when the matrix is
 * stored in panels of 8 output channels ([CO / 8][CI][8], the last panel 4 wide when CO leaves 4),
 * so the products read their register tile's columns from consecutive bytes, not CO floats apart.
 */
export function panelled(i: usize, inChannels: i32, outChannels: i32): usize {
  const ci = <i32>(i / <usize>outChannels);
  const co = <i32>(i % <usize>outChannels);
  const panel = co & ~(PANEL - 1);
  const lastPanel = outChannels & ~(PANEL - 1);
  const panelWidth = panel < lastPanel ? PANEL : outChannels - lastPanel;
  return <usize>(panel * inChannels + ci * panelWidth + (co - panel));
}

/**
 * U[p] = G g G^T for every (ci, co), stored in panels of 8 output channels as winogradFilter does;
 * `tmp` holds 18 vectors.
 */
export function winograd4Filter(filter: usize, u: usize, tmp: usize, inChannels: i32, outChannels: i32): void {
  const pairs = <usize>inChannels * <usize>outChannels;
  const tap = pairs * FLOAT;
  for (let i: usize = 0; i < pairs; i += 4) {
    const g = filter + i * FLOAT;
    const o = u + panelled(i, inChannels, outChannels) * FLOAT;
    // Down each filter column (kh), then along each transformed row: U[r][c] at o + (6r + c) * tap.
    for (let kw = 0; kw < 3; kw++) filterLine(g + <usize>kw * tap, 3 * tap, tmp + <usize>kw * VECTOR, 3 * VECTOR);
    for (let r = 0; r < SIDE; r++) filterLine(tmp + <usize>(3 * r) * VECTOR, VECTOR, o + <usize>(SIDE * r) * tap, tap);
  }
}

/** V[6r + c] of one tile from a 6x6 patch (pixel (r, c) at patch + r * rowBytes + c * pixelBytes). */
export function transformPatch6(patch: usize, rowBytes: usize, pixelBytes: usize, inChannels: i32, v: usize, positionBytes: usize, tmp: usize): void {
  for (let ci = 0; ci < inChannels; ci += 4) {
    const p = patch + <usize>ci * FLOAT;
    for (let r = 0; r < SIDE; r++) inputLine(p + <usize>r * rowBytes, pixelBytes, tmp + <usize>(SIDE * r) * VECTOR, VECTOR);
    const o = v + <usize>ci * FLOAT;
    for (let c = 0; c < SIDE; c++) inputLine(tmp + <usize>c * VECTOR, SIDE * VECTOR, o + <usize>c * positionBytes, SIDE * positionBytes);
  }
}

/** The 4x4 output tile (rows x columns of it inside the output) from M at mt: A^T M A. */
export function outputTile4(mt: usize, mPosition: usize, outChannels: i32, o: usize, coBytes: usize, outRow: usize, rows: i32, columns: i32, tmp: usize): void {
  const tile = tmp + TMP_PASS_BYTES;
  const whole = rows == 4 && columns == 4;
  for (let co = 0; co < outChannels; co += 4) {
    const q = mt + <usize>co * FLOAT;
    // Along each transformed row (6 -> 4 columns), then down each column (6 -> 4 rows).
    for (let r = 0; r < SIDE; r++) outputLine(q + <usize>(SIDE * r) * mPosition, mPosition, tmp + <usize>(4 * r) * VECTOR, VECTOR);
    const oc = o + <usize>co * FLOAT;
    if (whole) {
      for (let c = 0; c < 4; c++) outputLine(tmp + <usize>c * VECTOR, 4 * VECTOR, oc + <usize>c * coBytes, outRow);
    } else {
      for (let c = 0; c < 4; c++) outputLine(tmp + <usize>c * VECTOR, 4 * VECTOR, tile + <usize>c * VECTOR, 4 * VECTOR);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) v128.store(oc + <usize>r * outRow + <usize>c * coBytes, v128.load(tile + <usize>(4 * r + c) * VECTOR));
      }
    }
  }
}

/** Z = A dY A^T of the 4x4 output-gradient tile at g (rows x columns of it inside; zero beyond). */
export function gradientTile4(g: usize, dyRow: usize, coBytes: usize, outChannels: i32, z: usize, zPosition: usize, rows: i32, columns: i32, tmp: usize): void {
  const tile = tmp + TMP_PASS_BYTES;
  const whole = rows == 4 && columns == 4;
  for (let co = 0; co < outChannels; co += 4) {
    let s = g + <usize>co * FLOAT;
    let rowBytes = dyRow;
    let pixelBytes = coBytes;
    if (!whole) {
      memory.fill(tile, 0, 16 * VECTOR);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < columns; c++) v128.store(tile + <usize>(4 * r + c) * VECTOR, v128.load(s + <usize>r * dyRow + <usize>c * coBytes));
      }
      s = tile;
      rowBytes = 4 * VECTOR;
      pixelBytes = VECTOR;
    }
    for (let r = 0; r < 4; r++) gradientLine(s + <usize>r * rowBytes, pixelBytes, tmp + <usize>(SIDE * r) * VECTOR, VECTOR);
    const o = z + <usize>co * FLOAT;
    for (let c = 0; c < SIDE; c++) gradientLine(tmp + <usize>c * VECTOR, SIDE * VECTOR, o + <usize>c * zPosition, SIDE * zPosition);
  }
}

/**
 * dW [3, 3, CI, CO] = G^T (sum of `partials` accumulator sets, `partialBytes` apart) G; the sets
 * are summed into the first; `tmp` holds 18 vectors.
 */
export function winograd4FilterGradientOut(acc: usize, partials: i32, partialBytes: usize, dw: usize, tmp: usize, inChannels: i32, outChannels: i32): void {
  const pairs = <usize>inChannels * <usize>outChannels;
  const tap = pairs * FLOAT;
  const total = <usize>POSITIONS * tap;
  for (let t = 1; t < partials; t++) {
    const from = acc + <usize>t * partialBytes;
    for (let i: usize = 0; i < total; i += VECTOR) v128.store(acc + i, f32x4.add(v128.load(acc + i), v128.load(from + i)));
  }
  for (let i: usize = 0; i < pairs; i += 4) {
    const a = acc + i * FLOAT;
    // Along each transformed row (6 -> 3 columns), then down each column (6 -> 3 filter rows).
    for (let r = 0; r < SIDE; r++) filterGradientLine(a + <usize>(SIDE * r) * tap, tap, tmp + <usize>(3 * r) * VECTOR, VECTOR);
    const o = dw + i * FLOAT;
    for (let kw = 0; kw < 3; kw++) filterGradientLine(tmp + <usize>kw * VECTOR, 3 * VECTOR, o + <usize>kw * tap, 3 * tap);
  }
}

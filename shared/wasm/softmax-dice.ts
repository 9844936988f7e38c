/**
 * The training loss of one head (shared/src/model/loss.ts: cross-entropy + 1 - soft Dice over the
 * foreground classes) and its gradient with respect to the logits, in two passes over the pixels
 * instead of the dozen tfjs ops (softmax, log-softmax, slices, products, sums) and their gradients.
 * Pixels are rows of `classes` floats (logits, target and gradient alike).
 *
 * Pass 1 (`softmaxDiceForward`) writes the softmax into `probabilities` and sums, in f64 at `stats`:
 * [cross-entropy, intersection per class, probability per class, target per class] (index 0 of each
 * per-class block is the background, summed but unused). The caller turns the sums into the loss and
 * into the Dice gradient's coefficients: d loss / d p[c] = a[c] * t[c] + b[c] at every pixel.
 * Pass 2 (`softmaxDiceBackward`) writes d loss / d logits, in place over the probabilities:
 * (p - t) / pixels from the cross-entropy plus p * (g - sum_j p_j g_j) from the Dice term.
 */

const FLOAT: usize = 4;
const DOUBLE: usize = 8;

export function softmaxDiceForward(logits: usize, target: usize, probabilities: usize, stats: usize, pixels: i32, classes: i32): void {
  const intersection = stats + DOUBLE;
  const probabilitySum = intersection + <usize>classes * DOUBLE;
  const targetSum = probabilitySum + <usize>classes * DOUBLE;
  memory.fill(stats, 0, (1 + 3 * <usize>classes) * DOUBLE);
  let crossEntropy: f64 = 0;
  const rowBytes = <usize>classes * FLOAT;
  for (let i = 0; i < pixels; i++) {
    const z = logits + <usize>i * rowBytes;
    const t = target + <usize>i * rowBytes;
    const p = probabilities + <usize>i * rowBytes;
    let max = load<f32>(z);
    for (let k = 1; k < classes; k++) max = Mathf.max(max, load<f32>(z + <usize>k * FLOAT));
    let sum: f32 = 0;
    let targetDotLogit: f32 = 0;
    let targetMass: f32 = 0;
    for (let k = 0; k < classes; k++) {
      const shifted = load<f32>(z + <usize>k * FLOAT) - max;
      const e = Mathf.exp(shifted);
      store<f32>(p + <usize>k * FLOAT, e);
      sum += e;
      const tk = load<f32>(t + <usize>k * FLOAT);
      targetDotLogit += tk * shifted;
      targetMass += tk;
    }
    // -sum_k t_k log p_k with log p_k = shifted_k - log(sum).
    crossEntropy += <f64>(targetMass * Mathf.log(sum) - targetDotLogit);
    const inverse: f32 = 1 / sum;
    for (let k = 0; k < classes; k++) {
      const at = <usize>k * FLOAT;
      const pk = load<f32>(p + at) * inverse;
      store<f32>(p + at, pk);
      const tk = load<f32>(t + at);
      const slot = <usize>k * DOUBLE;
      store<f64>(intersection + slot, load<f64>(intersection + slot) + <f64>(pk * tk));
      store<f64>(probabilitySum + slot, load<f64>(probabilitySum + slot) + <f64>pk);
      store<f64>(targetSum + slot, load<f64>(targetSum + slot) + <f64>tk);
    }
  }
  store<f64>(stats, crossEntropy);
}

/** `gradient` may be `probabilities` itself; `a` and `b` hold `classes` floats each. */
export function softmaxDiceBackward(
  probabilities: usize, target: usize, gradient: usize, a: usize, b: usize, pixels: i32, classes: i32, inversePixels: f32,
): void {
  const rowBytes = <usize>classes * FLOAT;
  for (let i = 0; i < pixels; i++) {
    const p = probabilities + <usize>i * rowBytes;
    const t = target + <usize>i * rowBytes;
    const g = gradient + <usize>i * rowBytes;
    let dot: f32 = 0;
    for (let k = 0; k < classes; k++) {
      const at = <usize>k * FLOAT;
      dot += load<f32>(p + at) * (load<f32>(a + at) * load<f32>(t + at) + load<f32>(b + at));
    }
    for (let k = 0; k < classes; k++) {
      const at = <usize>k * FLOAT;
      const pk = load<f32>(p + at);
      const tk = load<f32>(t + at);
      const gk = load<f32>(a + at) * tk + load<f32>(b + at);
      store<f32>(g + at, pk * (gk - dot) + (pk - tk) * inversePixels);
    }
  }
}

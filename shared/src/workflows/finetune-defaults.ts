/**
 * How a model is fine-tuned when the user names nothing else: `lgefed finetune` and the
 * coordinator's federated fine-tune job share these.
 */

/** Fine-tuning length when none is given: an upper bound, as early stopping usually ends it sooner. */
export const FINETUNE_ITERATIONS = 60;
/**
 * Adam's rate when fine-tuning a model (scratch training keeps 1e-3): on the Sunnybrook patients
 * (leave one out, one training patient, first 3 encoder blocks) 3e-4 scored the left-out patient's
 * myocardium higher than 1e-3 from 20 iterations on (docs/transfer-sunnybrook-curves-lr*.json; README,
 * "Fine-tuning defaults, from learning curves").
 */
export const FINETUNE_LEARNING_RATE = 3e-4;
/** Held-out checks: every 10 iterations; 3 checks in a row without a new best stop training (docs/transfer-sunnybrook-all-arms.json). */
export const FINETUNE_CHECK_EVERY = 10;
export const FINETUNE_PATIENCE = 3;
/**
 * Blocks fine-tuned from a model when none are named: the first 3 encoder blocks, at the top of the
 * transfer experiment with one patient (0.726 myocardium, the first 4 blocks 0.728) and best with two
 * (0.740); the whole network was the worst fine-tuned arm (docs/results/transfer-sunnybrook-all-arms).
 */
export const FINETUNE_ENCODER_BLOCKS = 3;

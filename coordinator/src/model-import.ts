import { basename } from 'node:path';
import { architectureName } from '@lgefed/shared/model/architecture-name';
import { loadModelDirectory } from '@lgefed/shared/workflows/model-files';
import { PRETRAINED_MODEL_DIR } from '@lgefed/shared/workflows/pretrained';
import { CoordinatorError } from './errors.js';
import type { CoordinatorState } from './state.js';
import type { ModelVersion } from './store/jobs.js';
import { encodeTensors } from '@lgefed/protocol/weights-file';

/** The name the shipped EMIDEC-pretrained model goes by in every coordinator's store. */
export const SHIPPED_MODEL_NAME = 'emidec-unet-lite';

/** What a job may call a model: lower-case letters, digits, '.', '_' and '-', not a sha256. */
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/**
 * Copies a model directory (spec.json + weights.bin) into the content-addressed store and
 * registers it under `name` (default: the directory's name). Importing the same weights again
 * is a no-op; the name cannot be moved to other weights.
 */
export async function importModelDirectory(state: CoordinatorState, dir: string, name = basename(dir)): Promise<ModelVersion> {
  if (!NAME_PATTERN.test(name) || /^[0-9a-f]{64}$/.test(name)) {
    throw new CoordinatorError('invalid_argument', `model name ${JSON.stringify(name)}: use lower-case letters, digits, '.', '_' or '-' (at most 64), not a hash`);
  }
  let model;
  try {
    model = await loadModelDirectory(dir);
  } catch (err) {
    throw new CoordinatorError('invalid_argument', `cannot import ${dir}: ${(err as Error).message}`);
  }
  const architecture = architectureName(model.spec);
  const tensors = model.weights.map((t) => ({ name: t.name, shape: [...t.shape], data: t.data }));
  const hash = await state.models.put(encodeTensors(architecture, tensors));
  state.jobs.registerModel(hash, architecture, tensors.reduce((n, t) => n + t.data.length, 0), `import:${model.id}`);
  state.jobs.nameModel(hash, name);
  state.audit.append({ actor: 'coordinator', type: 'model.imported', subject: hash, details: { name, dir } });
  return state.jobs.model(hash)!;
}

/** Makes sure the shipped model is in the store under its name (a first start imports it). */
export async function ensureShippedModel(state: CoordinatorState): Promise<ModelVersion> {
  return state.jobs.model(SHIPPED_MODEL_NAME) ?? importModelDirectory(state, PRETRAINED_MODEL_DIR, SHIPPED_MODEL_NAME);
}

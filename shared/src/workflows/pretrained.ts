/**
 * The EMIDEC-pretrained model that ships inside this package. Resolved from this module's own
 * location, so it is found wherever the package is installed, with no data folder around.
 */
import { fileURLToPath } from 'node:url';

/** shared/models/emidec-unet-lite (from dist/workflows/ or src/workflows/, two levels up). */
export const PRETRAINED_MODEL_DIR = fileURLToPath(new URL('../../models/emidec-unet-lite', import.meta.url));

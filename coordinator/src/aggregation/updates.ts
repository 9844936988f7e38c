import { CoordinatorError } from '../errors.js';
import type { ParameterReader } from '../model-store.js';
import type { ClientUpdate } from './strategy.js';

/** An update held in memory (tests, small models). */
export function inMemoryUpdate(siteId: string, numExamples: number, parameters: Float32Array): ClientUpdate {
  return {
    siteId,
    numExamples,
    parameterCount: parameters.length,
    async read(start, count, into) {
      if (start < 0 || count < 0 || start + count > parameters.length) {
        throw new CoordinatorError('invalid_argument', `range [${start}, ${start + count}) outside 0..${parameters.length}`);
      }
      if (!into) return parameters.slice(start, start + count);
      into.set(parameters.subarray(start, start + count));
      return into.subarray(0, count);
    },
  };
}

/** An update read from the model store on demand. */
export function storedUpdate(siteId: string, numExamples: number, reader: ParameterReader): ClientUpdate {
  return { siteId, numExamples, parameterCount: reader.parameterCount, read: (start, count, into) => reader.read(start, count, into) };
}

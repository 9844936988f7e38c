import { readFile } from 'node:fs';
import { promisify } from 'node:util';
import { DataError } from './errors.js';

// The callback fs.readFile reads a small file in one go; fs/promises' readFile adds an fstat and chunked
// reads, which dominated loading hundreds of small PNG slices.
const readFileCallback = promisify(readFile);

/** Reads a file whole; a missing or unreadable file is a typed error naming it. */
export async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return await readFileCallback(file);
  } catch (err) {
    throw new DataError('not-found', file, `cannot read file (${(err as Error).message})`);
  }
}

/**
 * Writes a directory of files atomically: everything goes into a sibling staging directory that is
 * renamed into place, so a reader or a crash never sees a half-written model or harmoniser.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface DirectoryFile {
  readonly name: string;
  readonly data: string | Uint8Array | readonly Uint8Array[];
}

export async function writeDirectoryAtomically(directory: string, files: readonly DirectoryFile[]): Promise<void> {
  const staging = `${directory}.partial-${process.pid}-${Date.now()}`;
  await mkdir(staging, { recursive: true });
  try {
    for (const file of files) await writeFile(join(staging, file.name), file.data as string | Uint8Array | Uint8Array[]);
    await rm(directory, { recursive: true, force: true });
    await rename(staging, directory);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

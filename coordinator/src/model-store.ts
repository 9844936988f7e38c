import { createHash, randomUUID, type Hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { CoordinatorError } from './errors.js';
import { isProtocolError } from '@lgefed/protocol';
import { decodeWeightsHeader, parameterCount, type WeightsHeader } from '@lgefed/protocol/weights-file';

const HASH_PATTERN = /^[0-9a-f]{64}$/;
/** Largest header we accept when reading one back; real U-Net headers are a few kB. */
const MAX_HEADER_BYTES = 1 << 20;

/** Random access to one stored model's flat float32 parameter vector. */
export interface ParameterReader {
  readonly hash: string;
  readonly header: WeightsHeader;
  readonly parameterCount: number;
  /** Values [start, start + count) of the flat parameter vector, into `into` (a view of it) when given. */
  read(start: number, count: number, into?: Float32Array): Promise<Float32Array>;
  close(): Promise<void>;
}

/** An in-progress write: chunks are hashed as they arrive and become visible only on commit. */
export interface ModelWriter {
  write(chunk: Uint8Array): Promise<void>;
  readonly bytesWritten: number;
  /** Fsyncs, checks the content is a well-formed weights file, renames into place; returns its sha256. */
  commit(): Promise<string>;
  abort(): Promise<void>;
}

/**
 * Content-addressed weights store: `<dir>/sha256/<hex>`. Files are written to `<dir>/tmp`, fsynced
 * and renamed, so a crash never leaves a half-written model under a valid name, and storing the
 * same weights twice is a no-op.
 */
export class ModelStore {
  private readonly objects: string;
  private readonly temp: string;

  constructor(readonly dir: string) {
    this.objects = join(dir, 'sha256');
    this.temp = join(dir, 'tmp');
  }

  async init(): Promise<void> {
    await mkdir(this.objects, { recursive: true });
    await mkdir(this.temp, { recursive: true });
  }

  /** Drops partial writes a crash left behind; only the running coordinator calls this, at start. */
  async removeLeftovers(): Promise<void> {
    await rm(this.temp, { recursive: true, force: true });
    await mkdir(this.temp, { recursive: true });
  }

  /**
   * Deletes stored weights that nothing refers to: an upload whose result never came (a crashed or
   * hostile site) would otherwise stay forever. `isReferenced` says which hashes the coordinator's
   * records hold (results, aggregates, imports); files younger than `graceMs` stay, because an
   * upload lands before the result that registers it.
   */
  async collectGarbage(isReferenced: (hash: string) => boolean, graceMs: number, now = Date.now()): Promise<{ removed: string[]; bytes: number }> {
    const removed: string[] = [];
    let bytes = 0;
    for (const name of await readdir(this.objects)) {
      if (!HASH_PATTERN.test(name) || isReferenced(name)) continue;
      const file = join(this.objects, name);
      const info = await stat(file).catch(() => undefined);
      if (!info || now - info.mtimeMs < graceMs) continue;
      await rm(file, { force: true });
      removed.push(name);
      bytes += info.size;
    }
    return { removed, bytes };
  }

  path(hash: string): string {
    if (!HASH_PATTERN.test(hash)) throw new CoordinatorError('invalid_argument', `not a sha256 model hash: ${hash}`);
    return join(this.objects, hash);
  }

  async has(hash: string): Promise<boolean> {
    try {
      await stat(this.path(hash));
      return true;
    } catch {
      return false;
    }
  }

  async put(bytes: Uint8Array): Promise<string> {
    const writer = await this.createWriter();
    try {
      await writer.write(bytes);
      return await writer.commit();
    } catch (err) {
      await writer.abort();
      throw err;
    }
  }

  async createWriter(): Promise<ModelWriter> {
    const tempPath = join(this.temp, randomUUID());
    const handle = await open(tempPath, 'wx+', 0o600);
    return new FileModelWriter(handle, tempPath, this);
  }

  /** Used by the writer once content is verified. */
  async install(tempPath: string, hash: string): Promise<void> {
    await rename(tempPath, this.path(hash));
    const dir = await open(this.objects, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async open(hash: string): Promise<ParameterReader> {
    let handle: FileHandle;
    try {
      handle = await open(this.path(hash), 'r');
    } catch {
      throw new CoordinatorError('not_found', `model ${hash} is not in the store`);
    }
    try {
      const { header, dataOffset, size } = await readHeader(handle);
      const count = parameterCount(header);
      if (size !== dataOffset + count * 4) throw new CoordinatorError('corrupt_model', `model ${hash} has the wrong size for its header`);
      return {
        hash,
        header,
        parameterCount: count,
        async read(start, length, into) {
          if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > count) {
            throw new CoordinatorError('invalid_argument', `range [${start}, ${start + length}) outside 0..${count}`);
          }
          if (into && into.length < length) throw new CoordinatorError('invalid_argument', `a ${into.length}-value buffer cannot hold ${length} values`);
          const out = into ? into.subarray(0, length) : new Float32Array(length);
          const view = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
          let done = 0;
          while (done < view.length) {
            const { bytesRead } = await handle.read(view, done, view.length - done, dataOffset + start * 4 + done);
            if (bytesRead === 0) throw new CoordinatorError('corrupt_model', `model ${hash} ended early`);
            done += bytesRead;
          }
          return out;
        },
        close: () => handle.close(),
      };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }
}

async function readHeader(handle: FileHandle): Promise<{ header: WeightsHeader; dataOffset: number; size: number }> {
  const { size } = await handle.stat();
  const prefix = Buffer.alloc(Math.min(size, MAX_HEADER_BYTES));
  await handle.read(prefix, 0, prefix.length, 0);
  try {
    return { ...decodeWeightsHeader(prefix), size };
  } catch (err) {
    if (!isProtocolError(err, 'MALFORMED')) throw err;
    throw new CoordinatorError('corrupt_model', err.message);
  }
}

/**
 * Bytes written between background flushes: a large model is flushed to disk while the rest is
 * still being computed and written, so the fsync at commit waits only for the tail.
 */
const FLUSH_EVERY_BYTES = 16 * 1024 * 1024;

class FileModelWriter implements ModelWriter {
  private readonly hasher: Hash = createHash('sha256');
  private written = 0;
  private closed = false;
  private unflushed = 0;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly tempPath: string,
    private readonly store: ModelStore,
  ) {}

  get bytesWritten(): number {
    return this.written;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.closed) throw new CoordinatorError('conflict', 'model writer already closed');
    this.hasher.update(chunk);
    let done = 0;
    while (done < chunk.length) {
      const { bytesWritten } = await this.handle.write(chunk, done, chunk.length - done);
      done += bytesWritten;
    }
    this.written += chunk.length;
    this.unflushed += chunk.length;
    if (this.unflushed >= FLUSH_EVERY_BYTES && !this.flushing) {
      this.unflushed = 0;
      // Not awaited: it runs beside the next writes; commit waits for it. A failure here is
      // reported by commit's own sync.
      this.flushing = this.handle.datasync().catch(() => undefined).finally(() => (this.flushing = undefined));
    }
  }

  async commit(): Promise<string> {
    if (this.closed) throw new CoordinatorError('conflict', 'model writer already closed');
    this.closed = true;
    const hash = this.hasher.digest('hex');
    try {
      const { header, dataOffset } = await readHeader(this.handle);
      if (this.written !== dataOffset + parameterCount(header) * 4) {
        throw new CoordinatorError('corrupt_model', `weights file has ${this.written} bytes, its header needs ${dataOffset + parameterCount(header) * 4}`);
      }
      await this.flushing;
      await this.handle.sync();
      await this.handle.close();
      await this.store.install(this.tempPath, hash);
      return hash;
    } catch (err) {
      await this.handle.close().catch(() => undefined);
      await rm(this.tempPath, { force: true });
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flushing;
    await this.handle.close();
    await rm(this.tempPath, { force: true });
  }
}

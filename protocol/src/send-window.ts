/**
 * Chunks in flight: a sender keeps up to `window` unacknowledged chunks on the wire instead of
 * waiting for each ack before the next send (stop-and-wait spends one round trip per chunk: over
 * a 50 ms link that caps a 960 KiB chunk stream at ~19 MB/s). Each in-flight chunk holds one frame
 * of memory, so the window also bounds the sender's memory.
 */

/** Chunks a model sender keeps in flight per receiver. */
export const CHUNK_WINDOW = 4;

/**
 * Calls `send` for every item, at most `window` calls pending at once, in the items' order of
 * starting. The first failure stops further starts; it is thrown once the pending calls settle.
 */
export async function sendInWindow<T>(items: readonly T[], window: number, send: (item: T) => Promise<void>): Promise<void> {
  if (!Number.isInteger(window) || window < 1) throw new RangeError(`window must be a positive integer, got ${window}`);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await send(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, items.length) }, lane));
  if (failure) throw failure.error;
}

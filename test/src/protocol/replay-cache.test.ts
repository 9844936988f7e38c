import assert from 'node:assert/strict';
import { ProtocolError, ReplayCache, type ProtocolErrorCode } from '@lgefed/protocol';

const code = (expected: ProtocolErrorCode) => (err: unknown): boolean => err instanceof ProtocolError && err.code === expected;

describe('protocol replay cache', () => {
  it('keeps message ids per sender until they expire', () => {
    const cache = new ReplayCache();
    cache.admit('a', 'm1', 10, 2_000, 1_000);
    cache.admit('b', 'm1', 10, 2_000, 1_000); // same id, other sender
    assert.throws(() => cache.admit('a', 'm1', 11, 2_000, 1_500), code('REPLAY'));
    cache.admit('a', 'm1', 12, 4_000, 2_500); // the first one expired at 2 000
  });

  it('tolerates reordering inside the sequence window only', () => {
    const cache = new ReplayCache({ sequenceWindow: 3 });
    cache.admit('a', 'm10', 10, 9_000, 0);
    cache.admit('a', 'm8', 8, 9_000, 0);
    assert.throws(() => cache.admit('a', 'm7', 7, 9_000, 0), code('REPLAY'));
    cache.admit('b', 'm1', 1, 9_000, 0); // windows are per sender
  });

  it('is bounded per sender: evicts expired ids, refuses when full of live ones, and only that sender', () => {
    const cache = new ReplayCache({ maxEntriesPerSender: 2 });
    cache.admit('a', 'm1', 1, 100, 0);
    cache.admit('a', 'm2', 2, 5_000, 0);
    cache.admit('a', 'm3', 3, 5_000, 200); // m1 expired: evicted to make room
    assert.equal(cache.size, 2);
    assert.throws(() => cache.admit('a', 'm4', 4, 5_000, 300), code('TOO_LARGE'));
    // Sender a's full record costs sender b nothing.
    cache.admit('b', 'm1', 1, 5_000, 300);
    cache.admit('b', 'm2', 2, 5_000, 300);
    assert.equal(cache.size, 4);
  });
});

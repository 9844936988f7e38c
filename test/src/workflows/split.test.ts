import assert from 'node:assert/strict';
import { selectCases, splitCases, WorkflowError } from '@lgefed/shared/workflows/index';

const ids = Array.from({ length: 20 }, (_, i) => `Case_${String(i).padStart(3, '0')}`);

describe('workflows: case-level split and selection', () => {
  it('splits disjointly, covers every case, and does not depend on input order', () => {
    const split = splitCases(ids, { validationFraction: 0.2, seed: 7 });
    assert.equal(split.validation.length, 4);
    assert.equal(split.train.length, 16);
    assert.deepEqual([...split.train, ...split.validation].sort(), ids);
    assert.deepEqual(splitCases([...ids].reverse(), { validationFraction: 0.2, seed: 7 }), split);
    assert.notDeepEqual(splitCases(ids, { validationFraction: 0.2, seed: 8 }).validation, split.validation);
  });

  it('selects nested subsets for growing fractions, and exact counts', () => {
    const cases = ids.map((id) => ({ id }));
    const tenth = selectCases(cases, { fraction: 0.1 }, 3).map((c) => c.id);
    const half = selectCases(cases, { fraction: 0.5 }, 3).map((c) => c.id);
    assert.equal(tenth.length, 2);
    assert.equal(half.length, 10);
    for (const id of tenth) assert.ok(half.includes(id), `${id} of 10 % missing from 50 %`);
    assert.equal(selectCases(cases, { count: 3 }, 3).length, 3);
    assert.equal(selectCases(cases, { fraction: 0.01 }, 3).length, 1, 'at least one case');
  });

  it('rejects impossible splits and selections', () => {
    assert.throws(() => splitCases(['only'], { validationFraction: 0.5, seed: 1 }), WorkflowError);
    assert.throws(() => splitCases(ids, { validationFraction: 1, seed: 1 }), WorkflowError);
    assert.throws(() => splitCases(['a', 'a', 'b'], { validationFraction: 0.3, seed: 1 }), WorkflowError);
    assert.throws(() => selectCases([{ id: 'a' }], { count: 2 }, 1), WorkflowError);
    assert.throws(() => selectCases([{ id: 'a' }], { fraction: 1.5 }, 1), WorkflowError);
  });
});

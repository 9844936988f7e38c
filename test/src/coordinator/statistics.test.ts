import assert from 'node:assert/strict';
import { withInterval } from '@lgefed/coordinator/workflow/statistics';

describe('coordinator: Dice summaries', () => {
  it('keeps 95 % confidence intervals inside [0, 1]', () => {
    // Three cases spread from 0 to 1 (mean 0.5, sd 0.5): the t interval alone is about -0.74 to 1.74.
    const wide = withInterval({ n: 3, mean: 0.5, sd: 0.5 });
    assert.deepEqual(wide.ci95, [0, 1]);
    const narrow = withInterval({ n: 30, mean: 0.8, sd: 0.05 });
    assert.ok(narrow.ci95[0] > 0.78 && narrow.ci95[1] < 0.82, `${narrow.ci95}`);
  });
});

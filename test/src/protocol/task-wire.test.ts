import assert from 'node:assert/strict';
import { decodeMessage, encodeMessage, type TaskAssignment } from '@lgefed/protocol';
import { wireUnits, EMPTY_ARCHITECTURE } from '@lgefed/coordinator/transport/task-wire';
import type { TaskMessage } from '@lgefed/coordinator/workflow/transport';
import { readAssignment } from '@lgefed/site-agent/assignment';
import { PolicyRefusal } from '@lgefed/site-agent/errors';
import { buildReferenceProfile } from '@lgefed/shared/harmonise/index';

const HASH = 'ab'.repeat(32);

function task(kind: string, payload: unknown): TaskMessage {
  return { taskId: 't-1', jobId: 'j-1', roundNo: 2, kind, payload: payload as TaskMessage['payload'], attempt: 1, deadlineAt: 1.8e12, eventId: 'e-1' };
}

/** The assignment as the agent receives it: through the real protobuf encoding. */
function overTheWire(t: TaskMessage): TaskAssignment[] {
  return wireUnits(t).map((unit) => {
    const assignment: TaskAssignment = { ...unit.assignment, model: { modelId: unit.modelHash ?? '', architecture: { ...EMPTY_ARCHITECTURE, name: unit.architecture ?? 'lite' }, sha256: new Uint8Array(0) } };
    return decodeMessage('TaskAssignment', encodeMessage('TaskAssignment', assignment));
  });
}

describe('protocol: every job kind maps to the wire and back', () => {
  it('train carries FedProx μ, the augmentation preset and iterations', () => {
    const [assignment] = overTheWire(task('train', { architecture: 'lite', initialModel: HASH, config: { iterations: 7, seed: 3, batchSize: 2, learningRate: 0.5, proximalMu: 0.01, augmentation: 'nnunet', round: 2 } }));
    assert.equal(assignment!.kind, 'TASK_KIND_TRAIN');
    assert.equal(assignment!.round, 2);
    assert.deepEqual(readAssignment(assignment!), {
      kind: 'train',
      training: { iterations: 7, batchSize: 2, learningRate: 0.5, seed: 3, dataFraction: 1, caseCount: 0, augmentation: 'nnunet', proximalMu: 0.01 },
    });
  });

  it('train carries a case count (every site trains on the same number of cases)', () => {
    const [assignment] = overTheWire(task('train', { architecture: 'lite', initialModel: null, config: { epochs: 2, seed: 1, caseCount: 21 } }));
    assert.equal(assignment!.hyperParameters.caseCount, 21);
    assert.equal((readAssignment(assignment!) as { training: { caseCount: number } }).training.caseCount, 21);
  });

  it('finetune carries the freeze spec, data fraction and evaluation; a scratch baseline has no model', () => {
    const payload = { architecture: 'lite', initialModel: HASH, freeze: { trainEncoderBlocks: 2 }, dataFraction: 0.25, config: { epochs: 3, seed: 1 }, evaluation: { split: 'test', metric: 'dice' } };
    const [tuned] = overTheWire(task('finetune', payload));
    assert.equal(tuned!.kind, 'TASK_KIND_FINE_TUNE');
    assert.equal(tuned!.model.modelId, HASH);
    assert.deepEqual(readAssignment(tuned!), {
      kind: 'finetune',
      training: { epochs: 3, batchSize: 4, learningRate: 1e-3, seed: 1, dataFraction: 0.25, caseCount: 0, proximalMu: 0 },
      freeze: { trainEncoderBlocks: 2, trainDecoderBlocks: 0 },
      inference: { mirror: false },
    });
    const [scratch] = overTheWire(task('finetune', { ...payload, initialModel: null, freeze: null }));
    assert.equal(scratch!.model.modelId, '');
    assert.equal((readAssignment(scratch!) as { freeze: unknown }).freeze, null);
  });

  it('harmonisation-check carries the reference profile and ε exactly; a sensitivity on the wire is ignored by the site', () => {
    const reference = buildReferenceProfile([Float32Array.from({ length: 400 }, (_, i) => (i * 37) % 101)], { bins: 8, quantileCount: 5 });
    const [assignment] = overTheWire(task('harmonisation-check', { reference, epsilon: 0.3 }));
    assert.equal(assignment!.kind, 'TASK_KIND_HARMONISATION_CHECK');
    assert.equal(assignment!.harmonisation.sensitivity, 0);
    const expected = { kind: 'harmonisation-check', reference, epsilon: 0.3 };
    assert.deepEqual(readAssignment(assignment!), expected);
    assert.deepEqual(readAssignment({ ...assignment!, harmonisation: { ...assignment!.harmonisation, sensitivity: 1e-12 } }), expected);
  });

  it('evaluate sends one assignment per model', () => {
    const units = overTheWire(task('evaluate', { split: 'test', metric: 'dice', models: [{ label: 'a', hash: HASH }, { label: 'b', hash: 'cd'.repeat(32) }] }));
    assert.deepEqual(units.map((u) => [u.kind, u.model.modelId]), [['TASK_KIND_EVALUATE', HASH], ['TASK_KIND_EVALUATE', 'cd'.repeat(32)]]);
    assert.deepEqual(readAssignment(units[0]!), { kind: 'evaluate', inference: { mirror: false } });
  });

  it('evaluate and finetune carry how the site segments when it scores (mirroring, scale averaging)', () => {
    const inference = { mirror: true, scales: [0.8, 1, 1.25] };
    const units = overTheWire(task('evaluate', { split: 'test', metric: 'dice', inference, models: [{ label: 'a', hash: HASH }, { label: 'b', hash: 'cd'.repeat(32) }] }));
    for (const unit of units) assert.deepEqual(readAssignment(unit), { kind: 'evaluate', inference });
    const [tuned] = overTheWire(
      task('finetune', { architecture: 'lite', initialModel: HASH, freeze: null, dataFraction: 1, config: { iterations: 5, seed: 1 }, evaluation: { split: 'test', metric: 'dice', inference: { mirror: false, scales: [1.5] } } }),
    );
    assert.deepEqual((readAssignment(tuned!) as { inference: unknown }).inference, { mirror: false, scales: [1.5] });
    // Tasks that do not score carry one pass.
    const [trained] = overTheWire(task('train', { architecture: 'lite', initialModel: null, config: { epochs: 1, seed: 0 } }));
    assert.deepEqual(trained!.inference, { mirror: false, scales: [] });
  });

  it('has the agent refuse scales outside the bounds instead of running them', () => {
    const [unit] = overTheWire(task('evaluate', { split: 'test', metric: 'dice', models: [{ label: 'a', hash: HASH }] }));
    for (const scales of [[0.1], [1, 5], Array.from({ length: 9 }, () => 1), [Number.NaN]]) {
      assert.throws(
        () => readAssignment({ ...unit!, inference: { mirror: false, scales } }),
        (e: unknown) => e instanceof PolicyRefusal && e.code === 'unsupported_task' && /scales must be 1 to 8 factors/.test(e.message),
      );
    }
  });

  it('refuses what the wire cannot say, with the reason', () => {
    const refused = (t: TaskMessage, reason: RegExp) => assert.throws(() => wireUnits(t), (e: Error & { code?: string }) => e.code === 'not_representable' && reason.test(e.message));
    refused(task('train', { architecture: 'lite', initialModel: null, config: { epochs: 1, seed: 0, momentum: 0.9 } }), /momentum/);
    refused(task('train', { architecture: 'lite', initialModel: null, config: { epochs: 1, seed: 0, augmentation: 'wild' } }), /augmentation/);
    refused(task('train', { architecture: 'lite', initialModel: null, config: { epochs: 1, iterations: 5, seed: 0 } }), /exactly one of/);
    refused(task('train', { architecture: 'lite', initialModel: null, config: { seed: 0 } }), /exactly one of/);
    refused(task('cyclegan', {}), /cyclegan/);
    refused(task('evaluate', { split: 'test', metric: 'dice', inference: { mirror: 'yes' }, models: [{ label: 'a', hash: HASH }] }), /inference\.mirror/);
    refused(task('evaluate', { split: 'test', metric: 'dice', inference: { scales: '1,2' }, models: [{ label: 'a', hash: HASH }] }), /inference\.scales/);
  });

  it('has the agent refuse a fine-tune that would not be scored', () => {
    const [tuned] = overTheWire(task('finetune', { architecture: 'lite', initialModel: null, freeze: null, dataFraction: 1, config: { epochs: 1, seed: 0 }, evaluation: { split: 'test', metric: 'dice' } }));
    const unscored = { ...tuned!, hyperParameters: { ...tuned!.hyperParameters, evaluateAfter: false } };
    assert.throws(() => readAssignment(unscored), (e: unknown) => e instanceof PolicyRefusal && e.code === 'unsupported_task');
  });
});

import type { SiteTask } from '../assignment.js';
import { evaluateExecutor } from './evaluate-executor.js';
import type { ExecutionContext, Outcome } from './executor.js';
import { finetuneExecutor } from './finetune-executor.js';
import { harmonisationExecutor } from './harmonisation-executor.js';
import { trainExecutor } from './train-executor.js';

/** Runs an admitted task with its kind's executor. */
export function execute(task: SiteTask, context: ExecutionContext): Promise<Outcome> {
  switch (task.kind) {
    case 'train':
      return trainExecutor(task, context);
    case 'evaluate':
      return evaluateExecutor(task, context);
    case 'finetune':
      return finetuneExecutor(task, context);
    case 'harmonisation-check':
      return harmonisationExecutor(task, context);
  }
}

import { randomUUID } from 'node:crypto';
import { PolicyRefusal } from './errors.js';
import { TaskFailure, WorkerFailure } from './tasks/run-task.js';

/**
 * The text an error may carry to the coordinator. Policy refusals and the failures the agent raises
 * itself are worded for the federation and go as they are; anything else (a task worker's error, a
 * library's, an unexpected one) can hold absolute paths, file contents or case ids, so only its class
 * leaves, with a reference to the full text, which goes to the site's own log.
 */
export function siteSafeText(err: unknown, log: (line: string) => void): string {
  const name = err instanceof Error ? err.name : 'Error';
  if (err instanceof PolicyRefusal || (err instanceof TaskFailure && !(err instanceof WorkerFailure))) return `${name}: ${err.message}`;
  const ref = randomUUID().slice(0, 8);
  log(`error ref ${ref} (not sent to the coordinator): ${err instanceof Error ? err.message : String(err)}`);
  return `${name}: details are in the site's log (ref ${ref})`;
}

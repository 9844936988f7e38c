import type { Json } from '../store/jobs.js';

/** A task as it goes to a site. `eventId` is the audit event the site should log it under. */
export interface TaskMessage {
  readonly taskId: string;
  readonly jobId: string;
  readonly roundNo: number;
  readonly kind: string;
  readonly payload: Json;
  readonly attempt: number;
  readonly deadlineAt: number;
  readonly eventId: string;
}

/**
 * How the engine reaches sites; the socket.io server implements it, tests use an in-process one.
 * `send` returns false when the site is not connected (the task stays owed and is re-sent when it
 * reconnects, within its deadline).
 */
export interface TaskTransport {
  send(siteId: string, task: TaskMessage): boolean;
}

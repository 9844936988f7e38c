/**
 * The wire protocol's version (lgefed.proto): the coordinator refuses an agent that speaks another.
 * 2 since TaskAssignment.inference — a version-1 agent would ignore it and score with one pass while
 * the job said otherwise.
 */
export const PROTOCOL_VERSION = 2;

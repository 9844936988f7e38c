import type { Envelope } from './envelope.js';

/**
 * socket.io event maps shared by coordinator and site agent (`Server<AgentToCoordinatorEvents,
 * CoordinatorToAgentEvents>` and `Socket<CoordinatorToAgentEvents, AgentToCoordinatorEvents>`), so a
 * renamed event or a changed argument fails to compile on both sides.
 *
 * Each event carries one signed envelope, or one model chunk frame (authenticated by the signed
 * ModelManifest sent before it), and is acknowledged with the receiver's own signed envelope: an
 * Ack, or an ErrorReport saying why the message was refused.
 */
export type ReplyCallback = (reply: Envelope) => void;

export interface AgentToCoordinatorEvents {
  /** SiteHello, Heartbeat, Progress, TrainResult, EvaluationResult, HarmonisationReport, ModelManifest, ChunkRequest, ErrorReport. */
  envelope: (envelope: Envelope, reply: ReplyCallback) => void;
  /** A TensorChunk frame of a model the agent uploads (weights or a weight delta). */
  chunk: (frame: Uint8Array, reply: ReplyCallback) => void;
}

export interface CoordinatorToAgentEvents {
  /** Enrolment, TaskAssignment, ModelManifest, ChunkRequest, ErrorReport. */
  envelope: (envelope: Envelope, reply: ReplyCallback) => void;
  /** A TensorChunk frame of a model the coordinator sends. */
  chunk: (frame: Uint8Array, reply: ReplyCallback) => void;
}

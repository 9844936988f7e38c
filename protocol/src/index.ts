/** @lgefed/protocol: the lgefed wire schema, signed envelopes, keys and model transfer. */
export * from './errors.js';
export type * from './messages.generated.js';
export { MESSAGE_TYPE_NAMES } from './messages.generated.js';
export { PROTO_FILE, PROTO_PACKAGE, decodeMessage, defaultMessage, encodeMessage } from './schema.js';
export * from './keys.js';
export * from './replay-cache.js';
export * from './envelope.js';
export * from './float16.js';
export * from './model-transfer.js';
export type * from './socket-events.js';
export * from './send-window.js';
export * from './version.js';
export * from './huge-pages.js';

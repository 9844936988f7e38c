export { SiteChannel, type SiteChannelOptions } from './site-channel.js';
export type { SitePresence } from './presence.js';
export { PROTOCOL_VERSION, TransportError, type TransportErrorCode } from './wire.js';

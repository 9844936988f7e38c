export { SiteChannel, type SiteChannelOptions } from './site-channel.js';
export type { SitePresence } from './presence.js';
export { TransportError, type TransportErrorCode } from './wire.js';

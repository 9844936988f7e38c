export { CoordinatorError, type CoordinatorErrorCode } from './errors.js';
export { openCoordinatorState, type CoordinatorState } from './state.js';
export { startCoordinator, type CoordinatorOptions, type RunningCoordinator } from './server.js';
export { ModelStore, type ParameterReader, type ModelWriter } from './model-store.js';
export { encodeWeights, encodeTensors, decodeWeights, type WeightsHeader } from '@lgefed/protocol/weights-file';
export { buildStartupKit, type StartupKit } from './startup-kit.js';
export { AdminTokens, MAX_ADMIN_TOKEN_TTL_S, type AdminRole } from './auth/admin-tokens.js';
export { JobEngine, WORKFLOWS, type TaskMessage, type TaskTransport, type SiteResult, type SiteError } from './workflow/index.js';
export * from './aggregation/index.js';

export { SiteAgent, AGENT_VERSION, type AgentOptions } from './agent.js';
export { loadSiteConfig, parseSiteConfig, type SiteConfig, type LocalPolicy, type DatasetConfig } from './config.js';
export { loadStartupKit, type StartupKit } from './kit.js';
export { resolveArchitecture, architectureHash } from './architecture.js';
export { readAgentAudit, type AgentAuditEntry } from './audit-log.js';
export { AgentError, PolicyRefusal, type AgentErrorCode, type PolicyRefusalCode } from './errors.js';

/**
 * `@switchboard/broker`: the pubsub.v1 broker service. Public API only; see docs/protocol.md for the wire
 * protocol and `switchboard --help` for every option.
 */
export { buildApp } from './app.js';
export { startServer, type RunningServer, type StartOptions } from './server.js';
export { Broker, type BrokerDeps, type ShutdownOptions, serverLimits } from './broker.js';
export { createEngine } from './create-engine.js';
export type { BrokerState } from './http/http-broker.js';
export { type Config, type ConfigInput, type SlowConsumerRule, configDefaults, createConfig } from './config/config.js';
export { ConfigError } from './config/config-error.js';
export { configHelp } from './config/config-help.js';
export { type LoadConfigOptions, loadConfig } from './config/load-config.js';
export type { LogLevel } from './config/options-server.js';
export {
  type AuthFailureCode,
  type AuthHook,
  type AuthOutcome,
  type AuthRequest,
  type Identity,
  builtinAuthenticator,
} from './auth/authenticator.js';
export { type JwtOptions, type JwtResult, type VerifiedToken, signJwt, verifyJwt } from './auth/jwt.js';
export { type Grants, Permissions } from './auth/permissions.js';
export type {
  Engine,
  EngineHandler,
  EnginePresence,
  HistoryQuery,
  HistoryResult,
  HistoryRetention,
  LeaveReason,
  Payload,
  PresenceCounts,
  PresenceEntry,
  PresenceHistory,
  PresenceHistoryQuery,
  PresenceMember,
  PresenceOptions,
  PresencePosition,
  PresenceSnapshot,
  PresenceWrite,
  Publication,
  PublishOptions,
  PublishResult,
  StreamPosition,
} from './engine/engine.js';
export { MemoryEngine, type MemoryEngineOptions } from './engine/engine-memory.js';
export { MemoryCluster, type MemoryClusterOptions } from './engine/engine-memory-cluster.js';
export { BrokerError, BrokerErrorCode } from './errors.js';
export type { OverflowPolicy } from './hub/outbound-item.js';
export { BrokerStats } from './stats.js';
export { TopicTrie } from './topics/topic-trie.js';
export { type WebhookVerification, signWebhook, verifyWebhook } from './webhooks/webhook-signature.js';

import { ProtocolLimit } from '@switchboard/protocol';
import type { Config, OptionKey } from './config.js';
import { authInconsistency } from './config-checks-auth.js';
import { NamespaceResolver } from './namespace-resolver.js';

/** The rules between options (protocol.md §12), each failure naming the option to change. */

/** The first rule `config` breaks, in a fixed order, or undefined. */
export function firstInconsistency(config: Config): { readonly key: OptionKey; readonly message: string } | undefined {
  const fullChunk = config.chunkBytes + ProtocolLimit.headerLengthPrefixBytes + ProtocolLimit.maxHeaderBytes;
  if (config.maxMessageBytes < config.chunkBytes) {
    return { key: 'maxMessageBytes', message: `must be at least CHUNK_BYTES (${config.chunkBytes}), got ${config.maxMessageBytes}` };
  }
  if (config.maxFrameBytes < fullChunk) {
    return { key: 'maxFrameBytes', message: `must fit a full chunk: CHUNK_BYTES + 4 + 4096 = ${fullChunk}, got ${config.maxFrameBytes}` };
  }
  if (config.maxIncompleteBytes < config.maxMessageBytes) {
    return { key: 'maxIncompleteBytes', message: `must be at least MAX_MESSAGE_BYTES (${config.maxMessageBytes}), got ${config.maxIncompleteBytes}` };
  }
  const largestDelivery = worstCaseEncodedBytes(config.maxMessageBytes, config.chunkBytes);
  if (config.maxQueuedBytes < largestDelivery) {
    return {
      key: 'maxQueuedBytes',
      message: `must hold the largest message with its chunk headers (${largestDelivery} bytes for MAX_MESSAGE_BYTES ${config.maxMessageBytes}), got ${config.maxQueuedBytes}`,
    };
  }
  if (config.maxRecoveryBytes > config.maxQueuedBytes) {
    return { key: 'maxRecoveryBytes', message: `must fit the send queue: at most MAX_QUEUED_BYTES (${config.maxQueuedBytes}), got ${config.maxRecoveryBytes}` };
  }
  const tlsProblem = tlsInconsistency(config);
  if (tlsProblem !== undefined) return tlsProblem;
  if ([config.redisUrl !== undefined, config.redisClusterNodes.length > 0, config.redisSentinels.length > 0].filter(Boolean).length > 1) {
    return { key: config.redisSentinels.length > 0 ? 'redisSentinels' : 'redisClusterNodes', message: 'set one of REDIS_URL, REDIS_CLUSTER_NODES and REDIS_SENTINELS' };
  }
  if (config.redisWaitReplicas > 0 && config.redisClusterNodes.length > 0) {
    return { key: 'redisWaitReplicas', message: 'is for REDIS_URL or REDIS_SENTINELS, not a cluster' };
  }
  for (const [prefix, namespace] of Object.entries(config.namespaces)) {
    // The chunk assembler and the welcome's limits are sized by MAX_MESSAGE_BYTES: a namespace can only lower it.
    if (namespace.maxMessageBytes !== undefined && namespace.maxMessageBytes > config.maxMessageBytes) {
      return {
        key: 'namespaces',
        message: `${JSON.stringify(prefix)}: maxMessageBytes must be at most MAX_MESSAGE_BYTES (${config.maxMessageBytes}), got ${namespace.maxMessageBytes}`,
      };
    }
  }
  // The latest publication is read from history: a `latest` namespace (set or inherited) must keep some.
  for (const namespace of new NamespaceResolver(config).namespaces) {
    if (namespace.latest && namespace.historySize < 1) {
      return {
        key: 'namespaces',
        message: `${JSON.stringify(namespace.prefix)}: latest needs history to read the latest publication from: set historySize to at least 1 (it is ${namespace.historySize})`,
      };
    }
  }
  const webhookProblem = webhookInconsistency(config);
  if (webhookProblem !== undefined) return webhookProblem;
  return authInconsistency(config);
}

/** A webhook endpoint must be signed, and retries must back off from the shorter delay to the longer. */
function webhookInconsistency(config: Config): { readonly key: OptionKey; readonly message: string } | undefined {
  const anyUrl = config.webhookUrl !== undefined || Object.values(config.namespaces).some((namespace) => namespace.webhooks?.url !== undefined);
  if (anyUrl && config.webhookSecret === undefined) return { key: 'webhookSecret', message: 'is needed with a webhook URL: every POST is signed' };
  if (config.webhookRetryMinMs > config.webhookRetryMaxMs) {
    return { key: 'webhookRetryMinMs', message: `must be at most WEBHOOK_RETRY_MAX (${config.webhookRetryMaxMs}), got ${config.webhookRetryMinMs}` };
  }
  return undefined;
}

/** A certificate without its key (or the reverse) cannot be served; TLS_CA verifies clients of a TLS listener. */
function tlsInconsistency(config: Config): { readonly key: OptionKey; readonly message: string } | undefined {
  if (config.tlsCert !== undefined && config.tlsKey === undefined) return { key: 'tlsKey', message: "is needed with TLS_CERT (the certificate's private key)" };
  if (config.tlsKey !== undefined && config.tlsCert === undefined) return { key: 'tlsCert', message: 'is needed with TLS_KEY (the certificate the key belongs to)' };
  if (config.tlsCa !== undefined && config.tlsCert === undefined) return { key: 'tlsCa', message: 'needs TLS_CERT and TLS_KEY: client certificates are checked only on a TLS listener' };
  return undefined;
}

/**
 * An upper bound of the bytes a delivery of `payloadBytes` occupies in a send queue: the payload plus, per
 * chunk, a WebSocket frame header (at most 14 bytes), the 4-byte header length and a chunk header (under
 * 1 KiB: protocol.md §12 `maxHeaderBytes` rationale).
 */
export function worstCaseEncodedBytes(payloadBytes: number, chunkBytes: number): number {
  const chunks = Math.max(1, Math.ceil(payloadBytes / chunkBytes));
  return payloadBytes + chunks * (14 + ProtocolLimit.headerLengthPrefixBytes + 1024);
}

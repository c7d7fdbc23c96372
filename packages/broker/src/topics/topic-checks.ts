import { isWellFormedPattern, isWellFormedTopic } from '@switchboard/protocol';
import { BrokerError, BrokerErrorCode } from '../errors.js';

/**
 * The input checks of the engines and the topic trie, as `BrokerError`s. They hold topics and patterns to
 * the protocol's structure only (`isWellFormedTopic`): the characters and lengths of pubsub.v1 are checked
 * where requests arrive, before anything reaches an index or a store.
 */

/** @throws BrokerError `ERR_BROKER_INVALID_TOPIC` when `topic` is not a well-formed topic. */
export function assertValidTopic(topic: string): void {
  if (!isWellFormedTopic(topic)) {
    throw new BrokerError(BrokerErrorCode.invalidTopic, `invalid topic ${JSON.stringify(topic)}`);
  }
}

/** @throws BrokerError `ERR_BROKER_INVALID_PATTERN` when `pattern` is not a well-formed pattern. */
export function assertValidPattern(pattern: string): void {
  if (!isWellFormedPattern(pattern)) {
    throw new BrokerError(BrokerErrorCode.invalidPattern, `invalid topic pattern ${JSON.stringify(pattern)}`);
  }
}

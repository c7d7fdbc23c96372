import { BrokerError, BrokerErrorCode } from '../errors.js';

/**
 * Topic and pattern structure, independent of the wire codec: which characters and lengths a topic may
 * use is the protocol's business (pubsub.v1 validates before anything reaches the broker's index). Here we
 * only enforce the structure that matching relies on:
 *
 * - a topic is one or more non-empty segments separated by `.`, none containing `*` or `>`;
 * - a pattern is the same, except that a segment may be exactly `*` (matches exactly one segment) or, as
 *   the last segment only, exactly `>` (matches one or more trailing segments).
 *
 * `*` and `>` are rejected inside longer segments (`a*`) so that a character is never a wildcard in one
 * place and a literal in another.
 */
export const topicSeparator = '.';
/** Matches exactly one segment. */
export const singleSegmentWildcard = '*';
/** Matches one or more trailing segments; only valid as the last segment. */
export const tailWildcard = '>';

function isLiteralSegment(segment: string): boolean {
  return segment.length > 0 && !segment.includes(singleSegmentWildcard) && !segment.includes(tailWildcard);
}

export function isValidTopic(topic: string): boolean {
  return topic.split(topicSeparator).every(isLiteralSegment);
}

export function isValidPattern(pattern: string): boolean {
  const segments = pattern.split(topicSeparator);
  return segments.every(
    (segment, index) =>
      isLiteralSegment(segment) ||
      segment === singleSegmentWildcard ||
      (segment === tailWildcard && index === segments.length - 1),
  );
}

/** Whether a valid pattern contains a wildcard (an exact pattern names one topic). */
export function isWildcardPattern(pattern: string): boolean {
  const segments = pattern.split(topicSeparator);
  return segments.includes(singleSegmentWildcard) || segments.at(-1) === tailWildcard;
}

export function assertValidTopic(topic: string): void {
  if (!isValidTopic(topic)) {
    throw new BrokerError(BrokerErrorCode.invalidTopic, `invalid topic ${JSON.stringify(topic)}`);
  }
}

export function assertValidPattern(pattern: string): void {
  if (!isValidPattern(pattern)) {
    throw new BrokerError(BrokerErrorCode.invalidPattern, `invalid topic pattern ${JSON.stringify(pattern)}`);
  }
}

/**
 * The reference matcher: segment by segment, written to be obviously right rather than fast. The trie is
 * property-tested against it and the benchmark uses it as the naive baseline.
 */
export function patternMatches(pattern: string, topic: string): boolean {
  const patternSegments = pattern.split(topicSeparator);
  const topicSegments = topic.split(topicSeparator);
  for (let index = 0; index < patternSegments.length; index++) {
    const segment = patternSegments[index];
    if (segment === tailWildcard) return topicSegments.length > index;
    if (index >= topicSegments.length) return false;
    if (segment !== singleSegmentWildcard && segment !== topicSegments[index]) return false;
  }
  return patternSegments.length === topicSegments.length;
}

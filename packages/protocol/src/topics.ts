import { ProtocolLimit } from './constants.js';
import { type ProtocolError, ProtocolErrorCode, protocolError } from './errors.js';

/** Topic syntax (protocol.md §4). */
export const TopicSyntax = {
  separator: '.',
  /** Matches exactly one segment, anywhere in a pattern. */
  singleSegmentWildcard: '*',
  /** Matches one or more trailing segments; only as a pattern's last segment. */
  tailWildcard: '>',
} as const;

/** A valid topic and its segments. */
export interface ParsedTopic {
  readonly topic: string;
  readonly segments: readonly string[];
}

/** A valid pattern and its segments (`*` and `>` appear as segments of their own). */
export interface ParsedPattern {
  readonly pattern: string;
  readonly segments: readonly string[];
  /** `false` when the pattern names exactly one topic. */
  readonly wildcard: boolean;
}

/** Outcome of parsing: the value, or an `invalid_topic` error saying what is wrong and where. */
export type ParseResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ProtocolError };

/**
 * Parses a topic: 1-16 segments, 1-255 characters, segments of `A-Z a-z 0-9 _ - : @`, no wildcards.
 * Never throws.
 */
export function parseTopic(topic: string): ParseResult<ParsedTopic> {
  const split = splitSegments(topic, 'topic');
  if (!split.ok) return split;
  for (const [index, segment] of split.value.entries()) {
    const problem = literalSegmentProblem(segment);
    if (problem !== undefined) return invalid(`topic ${quote(topic)}: segment ${index + 1} ${problem}`);
  }
  return { ok: true, value: { topic, segments: split.value } };
}

/**
 * Parses a subscription pattern: a topic whose segments may also be exactly `*`, or exactly `>` as the last
 * segment. Never throws.
 */
export function parsePattern(pattern: string): ParseResult<ParsedPattern> {
  const split = splitSegments(pattern, 'pattern');
  if (!split.ok) return split;
  const segments = split.value;
  let wildcard = false;
  for (const [index, segment] of segments.entries()) {
    if (segment === TopicSyntax.singleSegmentWildcard) {
      wildcard = true;
    } else if (segment === TopicSyntax.tailWildcard) {
      if (index !== segments.length - 1) {
        return invalid(`pattern ${quote(pattern)}: '>' is only allowed as the last segment`);
      }
      wildcard = true;
    } else {
      const problem = literalSegmentProblem(segment, 'pattern');
      if (problem !== undefined) return invalid(`pattern ${quote(pattern)}: segment ${index + 1} ${problem}`);
    }
  }
  return { ok: true, value: { pattern, segments, wildcard } };
}

/** Whether `topic` is a valid topic (protocol.md §4). */
export function isValidTopic(topic: string): boolean {
  return parseTopic(topic).ok;
}

/** Whether `pattern` is a valid subscription pattern (protocol.md §4). */
export function isValidPattern(pattern: string): boolean {
  return parsePattern(pattern).ok;
}

/**
 * Whether `pattern` matches `topic`; `false` when either is invalid. The reference implementation, written
 * to be obviously right: the broker's trie is checked against it.
 */
export function topicMatches(pattern: string, topic: string): boolean {
  const parsedPattern = parsePattern(pattern);
  const parsedTopic = parseTopic(topic);
  if (!parsedPattern.ok || !parsedTopic.ok) return false;
  return segmentsMatch(parsedPattern.value.segments, parsedTopic.value.segments);
}

/**
 * Whether `topic` has a topic's structure: one or more non-empty segments, none containing a wildcard
 * character. No character or length rule: this is the structure matching relies on, checked by indexes
 * and stores that sit behind an edge which already applied {@link parseTopic} (the broker's engines and
 * topic trie), so a topic is not held to the full grammar twice on every publish.
 */
export function isWellFormedTopic(topic: string): boolean {
  return topic.split(TopicSyntax.separator).every(isLiteralSegment);
}

/**
 * Whether `pattern` has a pattern's structure: like {@link isWellFormedTopic}, except that a segment may be
 * exactly `*`, or exactly `>` as the last segment. No character or length rule (see there).
 */
export function isWellFormedPattern(pattern: string): boolean {
  const segments = pattern.split(TopicSyntax.separator);
  return segments.every(
    (segment, index) =>
      isLiteralSegment(segment) ||
      segment === TopicSyntax.singleSegmentWildcard ||
      (segment === TopicSyntax.tailWildcard && index === segments.length - 1),
  );
}

/** Segment-wise matching of an already parsed pattern against an already parsed topic. */
export function segmentsMatch(pattern: readonly string[], topic: readonly string[]): boolean {
  for (const [index, segment] of pattern.entries()) {
    if (segment === TopicSyntax.tailWildcard) return topic.length > index;
    if (index >= topic.length) return false;
    if (segment !== TopicSyntax.singleSegmentWildcard && segment !== topic[index]) return false;
  }
  return pattern.length === topic.length;
}

function splitSegments(text: string, what: 'topic' | 'pattern'): ParseResult<readonly string[]> {
  if (typeof text !== 'string') return invalid(`${what} must be a string`);
  if (text.length === 0) return invalid(`${what} is empty`);
  if (text.length > ProtocolLimit.maxTopicLength) {
    return invalid(`${what} is ${text.length} characters long; the limit is ${ProtocolLimit.maxTopicLength}`);
  }
  const segments = text.split(TopicSyntax.separator);
  if (segments.length > ProtocolLimit.maxTopicSegments) {
    return invalid(`${what} ${quote(text)} has ${segments.length} segments; the limit is ${ProtocolLimit.maxTopicSegments}`);
  }
  return { ok: true, value: segments };
}

/** `*` and `>` are rejected inside longer segments (`a*`) so a character is never a wildcard in one place and a literal in another. */
function isLiteralSegment(segment: string): boolean {
  return segment.length > 0 && !segment.includes(TopicSyntax.singleSegmentWildcard) && !segment.includes(TopicSyntax.tailWildcard);
}

/** Why a segment cannot be a literal segment, or `undefined` when it can. */
function literalSegmentProblem(segment: string, context: 'topic' | 'pattern' = 'topic'): string | undefined {
  if (segment.length === 0) return 'is empty (leading, trailing or doubled dot)';
  for (let index = 0; index < segment.length; index++) {
    const code = segment.charCodeAt(index);
    if (isSegmentCharacter(code)) continue;
    const character = segment.charAt(index);
    if (character === TopicSyntax.singleSegmentWildcard || character === TopicSyntax.tailWildcard) {
      return context === 'topic'
        ? `contains the wildcard '${character}': publishes name a concrete topic`
        : `mixes the wildcard '${character}' with other characters; a wildcard is a whole segment`;
    }
    return `contains ${describeCharacter(code)}, which is not allowed (allowed: A-Z a-z 0-9 _ - : @)`;
  }
  return undefined;
}

/** `A-Z a-z 0-9 _ - : @`: ASCII only, so topics compare byte for byte in every store and log. */
function isSegmentCharacter(code: number): boolean {
  return (
    (code >= 0x41 && code <= 0x5a) || // A-Z
    (code >= 0x61 && code <= 0x7a) || // a-z
    (code >= 0x30 && code <= 0x39) || // 0-9
    code === 0x5f || // _
    code === 0x2d || // -
    code === 0x3a || // :
    code === 0x40 // @
  );
}

function describeCharacter(code: number): string {
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return code > 0x20 && code < 0x7f ? `'${String.fromCharCode(code)}' (${hex})` : hex;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

function invalid(message: string): { readonly ok: false; readonly error: ProtocolError } {
  return { ok: false, error: protocolError(ProtocolErrorCode.invalidTopic, message) };
}

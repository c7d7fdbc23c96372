import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { TopicSyntax, segmentsMatch } from '@switchboard/protocol';
import { TopicTrie } from '@switchboard/broker';

export type BenchResult = { name: string; lines: string[] };

/** How many subscriptions the registry holds: the scale issue 3 asks the broker to stay fast at. */
const subscriptionCount = 100_000;
/** Minimum measuring time per contender, so short runs are not dominated by timer resolution or JIT warm-up. */
const minimumMeasureMs = 500;

/** A small seeded PRNG (mulberry32): the same subscriptions and topics on every run, so runs compare. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const regions = 100;
const devices = 1_000;
const metrics = ['temp', 'humidity', 'pressure', 'battery', 'rssi'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** A telemetry-like registry: 70% exact topics, 20% with `*`, 10% with `>`. */
function subscriptionPattern(random: () => number): { pattern: string; kind: 'exact' | 'star' | 'tail' } {
  const region = `r${Math.floor(random() * regions)}`;
  const device = `d${Math.floor(random() * devices)}`;
  const metric = pick(random, metrics);
  const roll = random();
  if (roll < 0.7) return { pattern: `telemetry.${region}.${device}.${metric}`, kind: 'exact' };
  if (roll < 0.8) return { pattern: `telemetry.${region}.*.${metric}`, kind: 'star' };
  if (roll < 0.9) return { pattern: `telemetry.*.${device}.${metric}`, kind: 'star' };
  if (roll < 0.95) return { pattern: `telemetry.${region}.${device}.>`, kind: 'tail' };
  return { pattern: `telemetry.${region}.>`, kind: 'tail' };
}

function publishTopic(random: () => number): string {
  return `telemetry.r${Math.floor(random() * regions)}.d${Math.floor(random() * devices)}.${pick(random, metrics)}`;
}

/** Runs `matchOne` over the topics, round after round, for at least `minimumMeasureMs`. */
function measure(topics: readonly string[], matchOne: (topic: string) => number): { perSecond: number; matched: number; calls: number } {
  let calls = 0;
  let matched = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (const topic of topics) {
      matched += matchOne(topic);
      calls++;
    }
    elapsed = performance.now() - start;
  } while (elapsed < minimumMeasureMs);
  return { perSecond: (calls / elapsed) * 1000, matched, calls };
}

const formatNumber = (value: number): string => Math.round(value).toLocaleString('en-US');

/** The naive matcher the baseline scans with: split both and compare segment by segment, nothing cached. */
function patternMatches(pattern: string, topic: string): boolean {
  return segmentsMatch(pattern.split(TopicSyntax.separator), topic.split(TopicSyntax.separator));
}

export async function benchTopicTrie(): Promise<BenchResult> {
  const random = seededRandom(20_240_601);
  const trie = new TopicTrie<number>();
  // The baseline's registry: distinct patterns with their subscribers, scanned in full for every topic.
  const baselineIndex = new Map<string, number[]>();
  const kinds = { exact: 0, star: 0, tail: 0 };
  const subscriptions: string[] = [];
  for (let subscriber = 0; subscriber < subscriptionCount; subscriber++) {
    const { pattern, kind } = subscriptionPattern(random);
    kinds[kind]++;
    subscriptions.push(pattern);
  }
  const buildStart = performance.now();
  subscriptions.forEach((pattern, subscriber) => trie.add(pattern, subscriber));
  const buildMs = performance.now() - buildStart;
  subscriptions.forEach((pattern, subscriber) => {
    const list = baselineIndex.get(pattern);
    if (list === undefined) baselineIndex.set(pattern, [subscriber]);
    else list.push(subscriber);
  });

  const topics = Array.from({ length: 10_000 }, () => publishTopic(random));

  const matchWithTrie = (topic: string): number => {
    let count = 0;
    trie.match(topic, () => void count++);
    return count;
  };
  const scanSubscribers = (topic: string): Set<number> => {
    const seen = new Set<number>();
    for (const [pattern, subscribers] of baselineIndex) {
      if (patternMatches(pattern, topic)) for (const subscriber of subscribers) seen.add(subscriber);
    }
    return seen;
  };
  const matchWithScan = (topic: string): number => scanSubscribers(topic).size;

  // Both must find the same subscribers, or the comparison means nothing.
  const sorted = (subscribers: Iterable<number>): string => [...subscribers].sort((a, b) => a - b).join();
  for (const topic of topics.slice(0, 50)) {
    if (sorted(trie.match(topic)) !== sorted(scanSubscribers(topic))) {
      throw new Error(`topic trie and baseline disagree on ${topic}`);
    }
  }

  const baselineTopics = topics.slice(0, 20);
  matchWithTrie(topics[0] as string); // warm-up for both, outside the measurement
  matchWithScan(topics[0] as string);
  const trieResult = measure(topics, matchWithTrie);
  const scanResult = measure(baselineTopics, matchWithScan);
  const ratio = trieResult.perSecond / scanResult.perSecond;

  return {
    name: 'topic trie',
    lines: [
      `${formatNumber(subscriptionCount)} subscriptions (${formatNumber(kinds.exact)} exact, ${formatNumber(kinds.star)} with *, ` +
        `${formatNumber(kinds.tail)} with >), ${formatNumber(trie.patternCount)} distinct patterns, ` +
        `${formatNumber(trie.nodeCount)} trie nodes, built in ${buildMs.toFixed(0)} ms`,
      `trie:     ${formatNumber(trieResult.perSecond).padStart(12)} matches/s  ` +
        `(${((1000 / trieResult.perSecond) * 1000).toFixed(2)} µs/match, ` +
        `${(trieResult.matched / trieResult.calls).toFixed(1)} subscribers per topic)`,
      `baseline: ${formatNumber(scanResult.perSecond).padStart(12)} matches/s  ` +
        `(${formatNumber((1000 / scanResult.perSecond) * 1000)} µs/match: every pattern checked with the reference matcher)`,
      `trie/baseline: ${formatNumber(ratio)}x`,
    ],
  };
}

// `npx tsx bench/topic-trie.ts` runs this benchmark alone.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchTopicTrie();
  process.stdout.write(`${result.name}\n${result.lines.map((line) => `  ${line}`).join('\n')}\n`);
}

// `pnpm bench`: every benchmark prints our figure beside a baseline measured in the same run.
import { benchBundle } from './bundle.js';
import { benchCore } from './core.js';
import { benchFanout } from './fanout.js';
import { benchFanoutRedis } from './fanout-redis.js';
import { benchFanoutPeers } from './fanout-peers.js';
import { benchLowLoad } from './low-load.js';
import { benchMemory } from './memory.js';
import { benchMemoryScale } from './memory-scale.js';
import { benchPresence } from './presence.js';
import { benchPresenceStorm } from './presence-storm.js';
import { benchTopicTrie } from './topic-trie.js';
import { benchWebhooks } from './webhooks.js';
import type { BenchResult } from './harness.js';

const suites: [string, () => Promise<BenchResult>][] = [
  ['core', benchCore],
  ['memory', benchMemory],
  ['memory-scale', benchMemoryScale],
  ['topics', benchTopicTrie],
  ['fanout', benchFanout],
  ['fanout-redis', benchFanoutRedis],
  ['low-load', benchLowLoad],
  ['fanout-peers', benchFanoutPeers],
  ['presence', benchPresence],
  ['presence-storm', benchPresenceStorm],
  ['webhooks', benchWebhooks],
  ['bundle', benchBundle],
];
const only = process.argv[2];

for (const [key, suite] of suites) {
  if (only !== undefined && only !== key) continue;
  const result = await suite();
  process.stdout.write(`\n## ${result.name}\n${result.lines.join('\n')}\n`);
}

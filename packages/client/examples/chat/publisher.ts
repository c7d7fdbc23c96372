/**
 * The example's Node side: publishes live metrics every second, answers in the chat, and raises an
 * alert now and then. Run it next to a broker:
 *
 *   JWT_SECRET=... node --conditions=@switchboard/source --import=tsx packages/client/examples/chat/publisher.ts [ws://127.0.0.1:8080/]
 *
 * It signs its own development token as the user `bot`. Its `chat.*` subscription is a wildcard, so the bot
 * reads every room without being listed in any (protocol.md §13.1).
 */
import { fileURLToPath } from 'node:url';
import { type Client, createClient } from '@switchboard/client';
import { devToken, secretFromEnv } from './dev-token.js';
import type { Topics } from './topics.js';

export interface Publisher {
  readonly client: Client<Topics>;
  stop(): Promise<void>;
}

const BOT_GRANTS = { publish: ['chat.>', 'metrics.>', 'alerts.>'], subscribe: ['chat.>'] };

/** Connects with a token signed by `secret` and starts publishing every `intervalMs`; `stop()` ends it. */
export function startPublisher(url: string, secret: string, intervalMs = 1000): Publisher {
  // A fresh token for every connection attempt and before the last one expires.
  const client = createClient<Topics>({ url, getToken: () => devToken(secret, 'bot', { grants: BOT_GRANTS }) });
  client.on('state', ({ state, closeCode }) => console.log(`[publisher] ${state}${closeCode === undefined ? '' : ` (${closeCode})`}`));
  client.on('error', (error) => console.warn(`[publisher] ${error.code}: ${error.message}`));

  // A bot that answers in the room it was spoken to.
  client.subscribe('chat.*', ({ topic, data }) => {
    if (data.user === 'bot' || !/\bbot\b/i.test(data.text)) return;
    void client.publish(topic as `chat.${string}`, { user: 'bot', text: `you said "${data.text}"`, at: Date.now() }, { ack: false });
  });

  let tick = 0;
  const timer = setInterval(() => {
    tick += 1;
    const cpu = 35 + 30 * Math.sin(tick / 5) + 10 * Math.random();
    // Live figures are disposable: fire-and-forget at low priority.
    void client.publish('metrics.cpu', { value: Math.round(cpu), unit: '%' }, { priority: 'low', ack: false });
    void client.publish('metrics.rps', { value: Math.round(800 + 400 * Math.random()), unit: 'req/s' }, { priority: 'low', ack: false });
    if (cpu > 70) {
      // Urgent and acknowledged: the broker confirms it, and it overtakes any queued low-priority traffic.
      client.publish('alerts.cpu', { level: 'warning', text: `CPU at ${Math.round(cpu)}%` }, { priority: 'high' }).catch((error: unknown) => {
        console.warn('[publisher] alert not published:', error);
      });
    }
  }, intervalMs);

  return {
    client,
    stop: async () => {
      clearInterval(timer);
      await client.close();
    },
  };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const publisher = startPublisher(process.argv[2] ?? 'ws://127.0.0.1:8080/', secretFromEnv());
  process.once('SIGINT', () => void publisher.stop());
}

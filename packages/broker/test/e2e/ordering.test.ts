import type { ServerChunkMessage } from '@switchboard/protocol';
import t from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { startBroker } from '../helpers/start-broker.js';

/**
 * No head-of-line blocking (issue 3, "Must show"): while a multi-megabyte message is being delivered in
 * chunks, a small high-priority message published after it reaches the subscriber before the large
 * message's last chunk. An ordering assertion on what the subscriber reads, not a timing one: the
 * subscriber stops reading until both messages are with the broker, and the test checks that the broker
 * was still holding the large message's remaining chunks when the urgent one arrived.
 */

const MiB = 1024 * 1024;

t.test('a small high-priority message overtakes the rest of a chunked multi-megabyte delivery', async (t) => {
  const { url, broker } = await startBroker(t, {
    maxMessageBytes: 8 * MiB,
    maxIncompleteBytes: 8 * MiB,
    maxQueuedBytes: 12 * MiB,
  });
  const subscriber = await Peer.open(url);
  const publisher = await Peer.open(url);
  t.teardown(() => Promise.all([subscriber.close(), publisher.close()]));
  await subscriber.subscribe('media.>');
  const session = broker.session(subscriber.welcome.connectionId);
  if (session === undefined) throw new Error('no session for the subscriber');

  subscriber.pause();
  const large = new Uint8Array(8 * MiB).map((_, index) => (index * 13) & 0xff);
  t.match(await publisher.publish('media.video', large, { priority: 'normal' }), { op: 'published' }, 'large message accepted');
  t.ok(session.queue.depthOf('normal') > 0, `the broker still holds the large message's remaining chunks (${session.queue.queuedBytes} bytes)`);
  t.match(await publisher.publish('media.alert', 'urgent', { priority: 'high' }), { op: 'published' }, 'urgent message accepted after it');
  subscriber.resume();

  const [first, second] = await subscriber.waitForDeliveries(2, 30_000);
  t.match(first, { topic: 'media.alert', priority: 'high', data: 'urgent' }, 'the urgent message completes first');
  t.equal(second?.topic, 'media.video');
  t.same(Buffer.from(second?.data as Uint8Array).equals(Buffer.from(large)), true, 'the large message arrives intact');

  const messages = subscriber.messages;
  const chunks = messages.filter((message): message is ServerChunkMessage => message.op === 'chunk');
  const urgentAt = messages.findIndex((message) => message.op === 'message' && message.topic === 'media.alert');
  const firstChunkAt = messages.findIndex((message) => message.op === 'chunk' && message.index === 0);
  const lastChunkAt = messages.findIndex((message) => message.op === 'chunk' && message.last);
  t.equal(chunks.length, Math.ceil((8 * MiB) / subscriber.welcome.limits.chunkBytes), 'the large message travelled in chunks');
  t.ok(firstChunkAt < urgentAt, 'the large delivery had started before the urgent message');
  t.ok(urgentAt < lastChunkAt, `the urgent message arrived between chunks (at ${urgentAt}, last chunk at ${lastChunkAt})`);
  t.ok(
    chunks.every((chunk, index) => chunk.index === index),
    'chunks stay in order around it',
  );
});

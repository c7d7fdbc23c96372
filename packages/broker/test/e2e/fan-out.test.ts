import t from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { startBroker } from '../helpers/start-broker.js';

/**
 * Fan-out encodes a delivery once and writes the same bytes to every local subscriber; with
 * permessage-deflate (opt-in, no context takeover) a broadcast is compressed once per negotiated
 * parameter set.
 */

t.test('one publication to many subscribers is encoded once', async (t) => {
  const { url, broker } = await startBroker(t);
  const subscribers = await Promise.all(Array.from({ length: 50 }, () => Peer.open(url)));
  const publisher = await Peer.open(url);
  t.teardown(() => Promise.all([...subscribers, publisher].map((peer) => peer.close())));
  await Promise.all(subscribers.map((peer, index) => peer.subscribe(index % 2 === 0 ? 'fan.*' : 'fan.>')));
  await publisher.publish('fan.out', { to: 'everyone' });
  const received = await Promise.all(subscribers.map(async (peer) => (await peer.waitForDeliveries(1))[0]));
  t.ok(received.every((delivery) => delivery?.topic === 'fan.out' && (delivery.data as { to: string }).to === 'everyone'));
  t.equal(broker.stats.deliveries, 50);
  t.equal(broker.stats.encodings, 1, 'one encoding for 50 subscribers');
});

t.test('permessage-deflate: negotiated without server context takeover; one compression per parameter set', async (t) => {
  const { url, broker } = await startBroker(t, { perMessageDeflate: true, deflateThresholdBytes: 256 });
  const plain = await Promise.all(Array.from({ length: 4 }, () => Peer.open(url)));
  const deflate = await Promise.all(Array.from({ length: 4 }, () => Peer.open(url, { perMessageDeflate: {} })));
  const smallWindow = await Promise.all(Array.from({ length: 2 }, () => Peer.open(url, { perMessageDeflate: { serverMaxWindowBits: 10 } })));
  const publisher = await Peer.open(url);
  const everyone = [...plain, ...deflate, ...smallWindow];
  t.teardown(() => Promise.all([...everyone, publisher].map((peer) => peer.close())));
  t.ok(plain.every((peer) => peer.ws.extensions === ''), 'clients that do not offer it get no compression');
  t.ok(deflate.every((peer) => /permessage-deflate; server_no_context_takeover/.test(peer.ws.extensions)), String(deflate[0]?.ws.extensions));
  t.ok(smallWindow.every((peer) => /server_max_window_bits=10/.test(peer.ws.extensions)), String(smallWindow[0]?.ws.extensions));
  await Promise.all(everyone.map((peer) => peer.subscribe('wide')));
  const before = broker.stats.encodings;
  const data = { rows: Array.from({ length: 200 }, (_, index) => ({ index, status: 'unchanged', note: 'compressible text' })) };
  await publisher.publish('wide', data);
  const received = await Promise.all(everyone.map(async (peer) => (await peer.waitForDeliveries(1))[0]?.data));
  t.ok(received.every((value) => JSON.stringify(value) === JSON.stringify(data)), 'every subscriber decodes the same message');
  t.equal(broker.stats.encodings - before, 3, 'encoded three times: plain, deflate window 15, deflate window 10');
  const compressedBytes = broker.stats.bytesWritten;
  t.ok(compressedBytes > 0);
  // Later broadcasts keep working: no frame depends on an earlier one (no context takeover).
  await publisher.publish('wide', data);
  const second = await Promise.all(everyone.map(async (peer) => (await peer.waitForDeliveries(2))[1]?.data));
  t.ok(second.every((value) => JSON.stringify(value) === JSON.stringify(data)));
});

import { type Client, createClient } from '@switchboard/client';
import type { DeliveryMessage } from '@switchboard/protocol';
import t from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { eventually } from '../helpers/start-broker.js';
import { adminToken, freePort, startBrokerProcess, startNginx, waitListening } from '../helpers/topology-processes.js';

/**
 * The docker-compose topology as plain processes (issue 4): a private redis-server, two `switchboard` CLI
 * processes with REDIS_URL, and Debian's nginx running deploy/nginx/switchboard.conf, the file compose mounts
 * (helpers/topology-processes.ts starts them).
 */

function dataOf(deliveries: readonly DeliveryMessage[]): unknown[] {
  return deliveries.map((delivery) => delivery.data);
}

t.test('compose topology as processes: nginx spreads clients over both nodes; a killed node\'s client recovers on the other', async (t) => {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  // Both compile the sources through tsx at start: started together.
  const brokers = [await startBrokerProcess(t, 'broker-1', redis.url), await startBrokerProcess(t, 'broker-2', redis.url)] as const;
  await Promise.all(brokers.map(waitListening));
  const nginx = await startNginx(t, brokers.map((broker) => broker.port));
  const url = `ws://127.0.0.1:${nginx.port}/`;

  // Least connections alternates between idle nodes; open until one client sits on each node (bounded).
  const peers: Peer[] = [];
  t.teardown(() => Promise.all(peers.map((peer) => peer.close().catch(() => undefined))));
  const onNode = (name: string): Peer | undefined => peers.find((peer) => peer.welcome.node === name);
  while ((onNode('broker-1') === undefined || onNode('broker-2') === undefined) && peers.length < 6) peers.push(await Peer.open(url));
  const first = onNode('broker-1');
  const second = onNode('broker-2');
  if (first === undefined || second === undefined) throw new Error(`clients landed on ${peers.map((peer) => peer.welcome.node).join(', ')} only`);
  t.pass('through nginx, clients land on both nodes (welcome names the node)');

  t.match(await first.subscribe('room.1'), { op: 'subscribed' });
  t.match(await second.subscribe('room.1'), { op: 'subscribed' });
  t.match(await second.publish('room.1', 'hello from broker-2'), { op: 'published' });
  t.match(await first.publish('room.1', 'hello from broker-1'), { op: 'published' });
  for (const peer of [first, second]) {
    await peer.waitFor((message) => message.op === 'message' && message.data === 'hello from broker-1');
    t.same(dataOf(peer.deliveries), ['hello from broker-2', 'hello from broker-1'], `${peer.welcome.node}: both messages, in order`);
  }
  // The client SDK too, on broker-1: it reconnects and recovers by itself (a few tries at most).
  const sdkNodes: (string | undefined)[] = [];
  const sdkReceived: unknown[] = [];
  let sdk: Client | undefined;
  for (let attempt = 0; attempt < 4 && sdk === undefined; attempt++) {
    const candidate = createClient({ url, reconnect: { initialDelayMs: 300, maxDelayMs: 500 } });
    t.teardown(() => candidate.close());
    const node = await new Promise<string | undefined>((resolve) => candidate.on('connected', (info) => resolve(info.node)));
    if (node === 'broker-1') {
      sdk = candidate;
      candidate.on('connected', (info) => sdkNodes.push(info.node));
    } else {
      await candidate.close();
    }
  }
  if (sdk === undefined) throw new Error('no SDK client landed on broker-1');
  await sdk.subscribe('room.*', (message) => sdkReceived.push(message.data));
  t.match(await second.publish('room.1', 'for the SDK'), { op: 'published' });
  await eventually(() => sdkReceived.includes('for the SDK'), 20_000, 'the SDK client got a message across nodes');
  // The position to resume from is after 'for the SDK': wait until the raw client has it too, else a loaded
  // machine reads the position before it and the recovery rightly replays 'for the SDK' as well.
  await first.waitFor((message) => message.op === 'message' && message.data === 'for the SDK');

  const last = first.deliveries.at(-1);
  if (last?.offset === undefined || last.epoch === undefined) throw new Error('deliveries carry no offset/epoch: history is off');

  // broker-1 crashes: its client's connection through nginx ends.
  brokers[0].child.kill('SIGKILL');
  await brokers[0].exited;
  await first.waitClosed();
  const missed = ['missed 1', 'missed 2', 'missed 3'];
  for (const data of missed) t.match(await second.publish('room.1', data), { op: 'published' }, 'published on broker-2 meanwhile');

  const again = await Peer.open(url);
  peers.push(again);
  t.equal(again.welcome.node, 'broker-2', 'the reconnect went through nginx to the surviving node');
  const subscribed = await again.subscribe('room.1', { since: { 'room.1': { offset: last.offset, epoch: last.epoch } } });
  t.match(subscribed, { op: 'subscribed', recovery: { 'room.1': { status: 'recovered', epoch: last.epoch } } }, 'recovered from history');
  t.match(await second.publish('room.1', 'live'), { op: 'published' });
  await again.waitFor((message) => message.op === 'message' && message.data === 'live');
  t.same(dataOf(again.deliveries), [...missed, 'live'], 'what it missed, in order, then live messages; nothing twice');

  await eventually(() => sdkReceived.includes('live'), 20_000, 'the SDK client reconnected and got the live message');
  t.same(sdkNodes, ['broker-2'], 'the SDK reconnected through nginx to broker-2');
  t.same(sdkReceived, ['for the SDK', ...missed, 'live'], 'the SDK recovered what it missed, in order, nothing twice');
});

t.test('nodes added later: POST /admin/rebalance on the busy node moves half its SDK clients through nginx to the new one, losing nothing', async (t) => {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  const laterPort = await freePort();
  const busy = await startBrokerProcess(t, 'broker-1', redis.url);
  await waitListening(busy);
  // broker-2 is in nginx's upstream but not running yet: nginx skips it (and marks it down for 5 s).
  const nginx = await startNginx(t, [busy.port, laterPort]);
  const url = `ws://127.0.0.1:${nginx.port}/`;

  const count = 4;
  const clients: { client: Client; nodes: (string | undefined)[]; received: unknown[] }[] = [];
  for (let index = 0; index < count; index++) {
    const client = createClient({ url, reconnect: { initialDelayMs: 2000, maxDelayMs: 2000 } });
    t.teardown(() => client.close());
    const entry = { client, nodes: [] as (string | undefined)[], received: [] as unknown[] };
    const connected = new Promise<void>((resolve) =>
      client.on('connected', (info) => {
        entry.nodes.push(info.node);
        resolve();
      }),
    );
    await connected;
    await client.subscribe('news.*', (message) => entry.received.push(message.data));
    clients.push(entry);
  }
  t.same(clients.map((entry) => entry.nodes), Array.from({ length: count }, () => ['broker-1']), 'all clients on the only running node');

  const later = await startBrokerProcess(t, 'broker-2', redis.url, laterPort);
  await waitListening(later);
  // nginx tries broker-2 again once its fail_timeout (5 s) has passed, and counts it healthy again only
  // when a request to it completes: a WebSocket does not complete, a GET /healthz does (bounded polling).
  const deadline = Date.now() + 20_000;
  for (;;) {
    const health = (await fetch(`http://127.0.0.1:${nginx.port}/healthz`).then((response) => response.json())) as { node?: string };
    if (health.node === 'broker-2') break;
    if (Date.now() > deadline) throw new Error('nginx did not route to broker-2 within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const publisher = await Peer.open(`ws://127.0.0.1:${later.port}/`);
  t.teardown(() => publisher.close());
  const sent: string[] = [];
  const publish = async (data: string): Promise<void> => {
    t.match(await publisher.publish('news.eu', data), { op: 'published' });
    sent.push(data);
  };
  await publish('before');
  const response = await fetch(`http://127.0.0.1:${busy.port}/admin/rebalance`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ fraction: 0.5, spreadMs: 200 }),
  });
  t.equal(response.status, 202);
  t.same(await response.json(), { closing: 2, connections: 4, node: 'broker-1' });
  // Published while the shed clients reconnect: they recover these from history.
  for (let n = 1; n <= 5; n++) await publish(`during ${n}`);
  await eventually(() => clients.filter((entry) => entry.nodes.length === 2).length === 2, 20_000, 'two clients reconnected');
  await publish('after');

  const moved = clients.filter((entry) => entry.nodes.length === 2);
  const stayed = clients.filter((entry) => entry.nodes.length === 1);
  t.same(moved.map((entry) => entry.nodes), [['broker-1', 'broker-2'], ['broker-1', 'broker-2']], 'the shed clients reconnected through nginx to the new node');
  t.same(stayed.map((entry) => entry.nodes), [['broker-1'], ['broker-1']], 'the others stayed');
  for (const [index, entry] of clients.entries()) {
    await eventually(() => entry.received.includes('after'), 20_000, `client ${index} got the last message`);
    t.same(entry.received, sent, `client ${index}: every message once, in order`);
  }
});

t.test('a node that lost its Redis sheds its clients (4003) and answers 503; nginx sends them on to the healthy node', async (t) => {
  // Each node on a Redis of its own, so that one of them can lose Redis alone (a network partition).
  const lost = await startRedisServer();
  t.teardown(() => lost.destroy());
  const kept = await startRedisServer();
  t.teardown(() => kept.destroy());
  const brokers = [
    await startBrokerProcess(t, 'broker-1', lost.url, undefined, { ENGINE_OUTAGE_SHED: '300', SHUTDOWN_SPREAD: '0' }),
    await startBrokerProcess(t, 'broker-2', kept.url),
  ] as const;
  await Promise.all(brokers.map(waitListening));
  const nginx = await startNginx(t, brokers.map((broker) => broker.port));
  const url = `ws://127.0.0.1:${nginx.port}/`;

  const nodes: (string | undefined)[][] = [];
  for (let index = 0; index < 2; index++) {
    const client = createClient({ url, reconnect: { initialDelayMs: 100, maxDelayMs: 300 } });
    t.teardown(() => client.close());
    const seen: (string | undefined)[] = [];
    nodes.push(seen);
    await new Promise<void>((resolve) =>
      client.on('connected', (info) => {
        seen.push(info.node);
        resolve();
      }),
    );
  }
  t.same(nodes.map((seen) => seen[0]).sort(), ['broker-1', 'broker-2'], 'least connections: one client on each node');
  const onLost = nodes.find((seen) => seen[0] === 'broker-1')!;

  await lost.kill();
  await eventually(() => onLost.length === 2, 20_000, 'the shed client reconnected');
  t.same(onLost, ['broker-1', 'broker-2'], 'shed by broker-1; its 503 sent the reconnect on to broker-2');
  const health = (await fetch(`http://127.0.0.1:${brokers[0].port}/readyz`)).status;
  t.equal(health, 503, 'broker-1 itself is still not ready');
});

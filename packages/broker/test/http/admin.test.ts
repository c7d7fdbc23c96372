import t from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { startBroker } from '../helpers/start-broker.js';

/** `POST /admin/rebalance`: the operator sheds a fraction of a node's connections with 4101. */

const adminToken = 'admin-token-for-tests-at-least-32-bytes';

t.test('without ADMIN_TOKEN the operator endpoints do not exist', async (t) => {
  const { app } = await startBroker(t);
  const response = await app.inject({ method: 'POST', url: '/admin/rebalance', payload: { fraction: 1 } });
  t.equal(response.statusCode, 404);
});

t.test('ADMIN_TOKEN shorter than 32 bytes is refused at startup', async (t) => {
  await t.rejects(startBroker(t, { adminToken: 'short' }), /ADMIN_TOKEN.*at least 32 bytes/);
});

t.test('a missing or wrong token gets 401, a bad body 400, and nothing is closed', async (t) => {
  const { app, url } = await startBroker(t, { adminToken });
  const peer = await Peer.open(url);
  t.teardown(() => peer.close());
  const post = (payload: unknown, authorization?: string) =>
    app.inject({ method: 'POST', url: '/admin/rebalance', payload: payload as object, headers: authorization === undefined ? {} : { authorization } });

  for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${adminToken}`, `Bearer ${adminToken}x`]) {
    const response = await post({ fraction: 1 }, authorization);
    t.equal(response.statusCode, 401, `${authorization ?? 'no Authorization'}: 401`);
    t.match(response.json(), { code: 'invalid_token' });
    t.equal(response.headers['www-authenticate'], 'Bearer');
  }
  for (const body of [{}, { fraction: 0 }, { fraction: 1.5 }, { fraction: '0.5' }, { fraction: 0.5, spreadMs: -1 }, { fraction: 0.5, extra: true }]) {
    const response = await post(body, `Bearer ${adminToken}`);
    t.equal(response.statusCode, 400, `${JSON.stringify(body)}: 400`);
    t.match(response.json(), { code: 'bad_request' });
  }
  t.match(await peer.publish('still.open', 1), { op: 'published' }, 'the connection was not touched');
});

t.test('fraction 0.5 of four connections: two are closed with 4101, spread over arrival order; two stay', async (t) => {
  const { app, broker, url } = await startBroker(t, { adminToken, nodeName: 'n1' });
  const peers: Peer[] = [];
  for (let index = 0; index < 4; index++) {
    const peer = await Peer.open(url);
    t.teardown(() => peer.close());
    peers.push(peer);
  }
  const response = await app.inject({
    method: 'POST',
    url: '/admin/rebalance',
    payload: { fraction: 0.5, spreadMs: 100 },
    headers: { authorization: `Bearer ${adminToken}` },
  });
  t.equal(response.statusCode, 202);
  t.same(response.json(), { closing: 2, connections: 4, node: 'n1' });
  // Evenly spread over arrival order: the first and the third connection.
  for (const index of [0, 2]) {
    t.same(await peers[index]!.waitClosed(5000), { code: 4101, reason: 'rebalancing to other nodes' }, `connection ${index} shed with 4101`);
  }
  for (const index of [1, 3]) t.match(await peers[index]!.publish('still.open', index), { op: 'published' }, `connection ${index} stays`);
  t.equal(broker.connectionCount, 2);
  t.equal(broker.stats.closes.get(4101), 2, 'counted by close code');
});

t.test('while the node shuts down, rebalance answers 503', async (t) => {
  const { app, broker } = await startBroker(t, { adminToken });
  void broker.shutdown({ drainMs: 0, spreadMs: 0 });
  const response = await app.inject({ method: 'POST', url: '/admin/rebalance', payload: { fraction: 1 }, headers: { authorization: `Bearer ${adminToken}` } });
  t.equal(response.statusCode, 503);
  t.match(response.json(), { code: 'unavailable' });
});

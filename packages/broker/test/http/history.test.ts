import t from 'tap';
import { signJwt } from '../../src/auth/jwt.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { startBroker } from '../helpers/start-broker.js';

/** `GET /history`: a topic's stored publications and current position over HTTP. */

const secret = 'history-test-secret-of-at-least-32-bytes';
const reader = await signJwt({ sub: 'reader', subscribe: ['orders.>'], publish: ['orders.>'] }, secret);

interface HistoryBody {
  topic: string;
  epoch: string;
  offset: number;
  recovered?: boolean;
  reason?: string;
  publications: { offset: number; epoch: string; priority: string; time: number; data?: unknown; dataBase64?: string }[];
}

t.test('the last publications with their positions, JSON and binary payloads as published', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret, historySize: 10 });
  const publisher = await Peer.open(broker.url, { headers: { authorization: `Bearer ${reader}` } });
  t.teardown(() => publisher.close());
  for (const data of [{ n: 1 }, [2], 'three', null]) await publisher.publish('orders.eu', data);
  await publisher.publish('orders.eu', new Uint8Array([1, 2, 255]), { priority: 'high' });
  const get = (query: string) => broker.app.inject({ url: `/history?${query}`, headers: { authorization: `Bearer ${reader}` } });

  const last3 = await get('topic=orders.eu&limit=3');
  t.equal(last3.statusCode, 200);
  t.match(last3.headers['content-type'], /^application\/json/);
  const body = last3.json() as HistoryBody;
  t.equal(body.offset, 5, 'the current position');
  t.same(body.publications.map((p) => [p.offset, p.priority, p.data ?? p.dataBase64]), [
    [3, 'normal', 'three'],
    [4, 'normal', null],
    [5, 'high', Buffer.from([1, 2, 255]).toString('base64')],
  ]);
  t.ok(body.publications.every((p) => p.epoch === body.epoch && typeof p.time === 'number'));
  t.notOk('recovered' in body, 'no recovery verdict without since');

  const position = await get('topic=orders.eu&limit=0');
  t.same((position.json() as HistoryBody).publications, [], 'limit=0: the position only');
  t.equal((position.json() as HistoryBody).offset, 5);

  const since = (await get(`topic=orders.eu&sinceOffset=3&sinceEpoch=${body.epoch}`)).json() as HistoryBody;
  t.same([since.recovered, since.publications.map((p) => p.offset)], [true, [4, 5]], 'since: what came after, recovered');
  const stale = (await get('topic=orders.eu&sinceOffset=3&sinceEpoch=another')).json() as HistoryBody;
  t.same([stale.recovered, stale.reason, stale.publications], [false, 'epoch_mismatch', []]);

  const empty = (await get('topic=orders.none')).json() as HistoryBody;
  t.same([empty.offset, empty.publications], [0, []], 'a topic with no publications');
});

t.test('load state over HTTP, then subscribe from its position: nothing missed, nothing twice', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret });
  const headers = { authorization: `Bearer ${reader}` };
  const publisher = await Peer.open(broker.url, { headers });
  const subscriber = await Peer.open(broker.url, { headers });
  t.teardown(() => Promise.all([publisher.close(), subscriber.close()]));
  for (const n of [1, 2, 3]) await publisher.publish('orders.us', n);
  const state = (await broker.app.inject({ url: '/history?topic=orders.us', headers })).json() as HistoryBody;
  t.same(state.publications.map((p) => p.data), [1, 2, 3], 'the state as loaded');
  for (const n of [4, 5]) await publisher.publish('orders.us', n); // between the load and the subscribe
  t.match(await subscriber.subscribe('orders.us', { since: { 'orders.us': { offset: state.offset, epoch: state.epoch } } }), {
    recovery: { 'orders.us': { status: 'recovered' } },
  });
  await publisher.publish('orders.us', 6);
  await subscriber.waitForDeliveries(3);
  t.same(subscriber.deliveries.map((d) => d.data), [4, 5, 6]);
});

t.test('refusals: token, grant, topic and query checked, each with its status and code', async (t) => {
  const broker = await startBroker(t, { jwtSecret: secret, maxRecoveryMessages: 50 });
  const other = await signJwt({ sub: 'other', subscribe: ['chat.>'] }, secret);
  const get = async (query: string, token: string | null = reader) => {
    const response = await broker.app.inject({ url: `/history?${query}`, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    return [response.statusCode, (response.json() as { code?: string }).code];
  };
  t.same(await get('topic=orders.eu', null), [401, 'invalid_token']);
  t.same(await get('topic=orders.eu', 'not-a-jwt'), [401, 'invalid_token']);
  t.same(await get('topic=orders.eu', other), [403, 'forbidden'], 'no subscribe grant for the topic');
  t.same(await get('topic=orders.*'), [400, 'invalid_topic'], 'a pattern is not a topic');
  t.same(await get(''), [400, 'bad_request'], 'no topic');
  t.same(await get('topic=orders.eu&limit=51'), [400, 'bad_request'], 'limit above MAX_RECOVERY_MESSAGES');
  t.same(await get('topic=orders.eu&limit=-1'), [400, 'bad_request']);
  t.same(await get('topic=orders.eu&sinceOffset=3'), [400, 'bad_request'], 'sinceOffset without sinceEpoch');
  t.same(await get('topic=orders.eu&extra=1'), [400, 'bad_request'], 'unknown parameters are refused');
});

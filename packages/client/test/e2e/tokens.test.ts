// Tokens against a real broker that verifies HS256 JWTs (protocol.md §2.2, §9): getToken on every
// connection attempt, refresh before expiry, and the two ways a bad token is reported.
import t from 'tap';
import { type StateChange, createClient } from '../../src/index.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { TEST_JWT_SECRET, signTestJwt } from '../helpers/jwt.js';
import { delay, until } from '../helpers/wait.js';

const grants = { publish: ['chat.>'], subscribe: ['chat.>'] };

/** A token for `sub` that expires in `seconds` (JWT `exp` has one-second resolution). */
function tokenFor(sub: string, seconds: number): string {
  return signTestJwt({ sub, ...grants, exp: Math.floor(Date.now() / 1000) + seconds });
}

let broker: BrokerProcess;
let afterUpgrade: BrokerProcess;

t.before(async () => {
  const common = ['--jwt-secret', TEST_JWT_SECRET, '--jwt-clock-tolerance', '0', '--token-grace', '1s'];
  [broker, afterUpgrade] = await Promise.all([startBroker(common), startBroker([...common, '--auth-failure-after-upgrade'])]);
});
t.teardown(async () => {
  await Promise.all([broker?.stop(), afterUpgrade?.stop()]);
});

t.test('getToken is called to connect and again before the token expires; the connection stays', async (t) => {
  const issued: string[] = [];
  const client = createClient({
    url: broker.url,
    getToken: () => {
      const token = tokenFor('ann', 3);
      issued.push(token);
      return token;
    },
  });
  t.teardown(() => client.close());
  const states: StateChange[] = [];
  client.on('state', (change) => states.push(change));
  await client.whenConnected();
  const connectionId = client.connectionId;
  t.equal(issued.length, 1);
  await until(() => issued.length >= 2, 'a refresh', 10_000);
  // Past the first token's expiry plus the grace period: without a refresh the broker would close (4102).
  await delay(3500);
  t.equal(client.connectionId, connectionId, 'the same connection');
  t.same(states.map((change) => change.state), ['connected'], 'never disconnected');
  t.match(await client.publish('chat.x', 'still allowed'), { offset: Number });
});

t.test('getToken is async-friendly and called before every attempt; a failing getToken is retried', async (t) => {
  let calls = 0;
  const client = createClient({
    url: broker.url,
    reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    getToken: async () => {
      calls += 1;
      await delay(10);
      if (calls === 1) throw new Error('identity provider unreachable');
      return tokenFor('bob', 60);
    },
  });
  t.teardown(() => client.close());
  const states: StateChange[] = [];
  client.on('state', (change) => states.push(change));
  await client.whenConnected();
  t.equal(calls, 2);
  t.match(states[0], { state: 'disconnected', error: { code: 'token_unavailable', cause: { message: 'identity provider unreachable' } } });
});

t.test('an expired token at connect: 401, and getToken supplies a fresh one for the next attempt', async (t) => {
  let calls = 0;
  const client = createClient({
    url: broker.url,
    reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    getToken: () => (++calls === 1 ? tokenFor('cy', -60) : tokenFor('cy', 60)),
  });
  t.teardown(() => client.close());
  const states: StateChange[] = [];
  client.on('state', (change) => states.push(change));
  await client.whenConnected();
  t.match(states[0], { state: 'disconnected', error: { code: 'invalid_token' } }, 'Node sees the HTTP 401');
  t.equal(calls, 2);
});

t.test('a broker that reports bad tokens after the upgrade closes with 4401: the client stops for good', async (t) => {
  const client = createClient({ url: afterUpgrade.url, token: 'not-a-jwt' });
  t.teardown(() => client.close());
  const closed = await new Promise<StateChange>((resolve) => client.on('state', (change) => change.state === 'closed' && resolve(change)));
  t.match(closed, { closeCode: 4401, error: { closeCode: 4401 } });
  await t.rejects(client.publish('chat.x', 1), { code: 'client_closed' });
});

t.test('permissions follow the token: a forbidden publish and subscribe are refused by code', async (t) => {
  const client = createClient({ url: broker.url, token: tokenFor('dee', 60) });
  t.teardown(() => client.close());
  await t.rejects(client.publish('admin.x', 1), { code: 'forbidden' });
  await t.rejects(client.subscribe('admin.*', () => {}, { onError: () => {} }).ready, { code: 'forbidden' });
  t.match(await client.publish('chat.x', 1), { topic: 'chat.x' });
});

// Join and leave events against a real broker process (protocol.md §13.3-13.4): the member list kept from a
// snapshot and events at both levels, leave reasons, and a subscriber cut off while members come and go that
// catches up with since.seq (the missed entries replayed, no re-read), in order with the messages.
import t, { type Test } from 'tap';
import { type Client, type JoinEvent, type LeaveEvent, type MembersChange, createClient } from '../../src/index.js';
import { type BrokerProcess, startBroker } from '../helpers/broker-process.js';
import { TEST_JWT_SECRET, signTestJwt } from '../helpers/jwt.js';
import { type TcpProxy, startTcpProxy } from '../helpers/tcp-proxy.js';
import { Inbox, until } from '../helpers/wait.js';

type Info = { name: string };
interface Topics {
  'chat.*': { text: string };
}

let broker: BrokerProcess;

t.before(async () => {
  broker = await startBroker(['--jwt-secret', TEST_JWT_SECRET, '--presence', 'chat.>', '--history-size', '100']);
});
t.teardown(() => broker?.stop());

function connect(t: Test, user: string, url: string = broker.url): Client<Topics, Info> {
  const token = signTestJwt({ sub: user, info: { name: user.toUpperCase() }, publish: ['chat.>'], subscribe: ['chat.>'] });
  const client = createClient<Topics, Info>({ url, token, reconnect: { initialDelayMs: 20, maxDelayMs: 50 } });
  t.teardown(() => client.close());
  return client;
}

function users(members: ReadonlyMap<string, ReadonlyMap<string, Info | null>>): Record<string, number> {
  return Object.fromEntries([...members].map(([user, connections]) => [user, connections.size]));
}

t.test('the list follows joins and leaves; level user hears first in and last out only', async (t) => {
  const ann = connect(t, 'ann');
  const joins = new Inbox<JoinEvent<Info>>();
  const leaves = new Inbox<LeaveEvent>();
  const userJoins = new Inbox<JoinEvent<Info>>();
  const userLeaves = new Inbox<LeaveEvent>();
  const room = ann.subscribe('chat.room1', () => {}, { presence: 'connection', onJoin: joins.push, onLeave: leaves.push });
  ann.subscribe('chat.room1', () => {}, { presence: 'user', onJoin: userJoins.push, onLeave: userLeaves.push });
  await room;
  await until(() => room.members.has('ann'), 'ann to list herself');
  const bob1 = connect(t, 'bob');
  const bob2 = connect(t, 'bob');
  const bobRoom = bob1.subscribe('chat.room1', () => {});
  await bobRoom;
  await bob2.subscribe('chat.room1', () => {});
  await until(() => joins.items.filter((event) => event.user === 'bob').length === 2, 'both of bob\'s joins');
  t.same(users(room.members), { ann: 1, bob: 2 });
  t.match(room.members.get('bob')?.get(bob1.connectionId!), { name: 'BOB' }, 'info from the token');
  const others = (events: readonly JoinEvent<Info>[]) => events.filter((event) => event.user !== 'ann');
  t.same(others(joins.items).map((event) => [event.user, event.first]), [['bob', true], ['bob', false]], 'a subscriber hears its own join too');
  t.match(room.presenceCounts, { connections: 3, users: 2, anonymous: 0 });

  bobRoom.unsubscribe();
  await leaves.atLeast(1);
  t.match(leaves.items[0], { user: 'bob', connectionId: bob1.connectionId, last: false, reason: 'left' });
  await bob2.close();
  await leaves.atLeast(2);
  t.match(leaves.items[1], { user: 'bob', last: true, reason: 'disconnected' });
  t.same(users(room.members), { ann: 1 });
  t.same(others(userJoins.items).map((event) => event.user), ['bob'], 'level user: bob arrived once');
  t.same(userLeaves.items.map((event) => [event.user, event.reason]), [['bob', 'disconnected']], 'and left once');
});

t.test('cut off while members come and go: since.seq replays the missed entries, in order, without a re-read', async (t) => {
  const network: TcpProxy = await startTcpProxy(broker.port);
  t.teardown(() => network.close());
  const ann = connect(t, 'ann', network.url);
  const changes = new Inbox<MembersChange<Info>>();
  const joins = new Inbox<string>();
  const messages = new Inbox<string>();
  const log: string[] = [];
  const room = ann.subscribe(
    'chat.room2',
    (message) => {
      messages.push(message.data.text);
      log.push(`message ${message.data.text}`);
    },
    {
      presence: 'connection',
      onMembers: changes.push,
      onJoin: (event) => {
        if (event.user !== 'ann') joins.push(event.user!);
        if (event.user !== 'ann') log.push(`join ${event.user}`);
      },
      onLeave: (event) => {
        if (event.user !== 'ann') log.push(`leave ${event.user}`);
      },
    },
  );
  await room;
  await until(() => room.members.has('ann'), 'the first snapshot');
  const resyncs = () => changes.items.filter((change) => change.cause === 'resync').length;
  t.equal(resyncs(), 1);

  network.refuse(true);
  network.cut();
  await until(() => ann.state !== 'connected', 'ann to notice the cut');
  const carol = connect(t, 'carol');
  await carol.subscribe('chat.room2', () => {});
  await carol.publish('chat.room2', { text: 'carol was here' });
  const dave = connect(t, 'dave');
  await dave.subscribe('chat.room2', () => {});
  await carol.close();
  network.refuse(false);
  await ann.whenConnected();
  await until(() => room.members.has('dave') && !room.members.has('carol'), 'the replayed entries');
  t.same(users(room.members), { ann: 1, dave: 1 });
  t.same(joins.items, ['carol', 'dave'], 'each missed join once, in order (ann\'s own new connection aside)');
  t.same(messages.items, ['carol was here'], 'the message between them recovered too');
  t.same(log, ['join carol', 'message carol was here', 'join dave', 'leave carol'], 'entries and messages in the topic\'s order');
  t.equal(resyncs(), 1, 'recovered from since.seq: no re-read');
});

t.test('over the event rate, and past the presence history: the list is re-read and comes out right', async (t) => {
  // Two joins a second per topic, two entries of presence history: a storm is coalesced, a long cut expires.
  const small = await startBroker(['--jwt-secret', TEST_JWT_SECRET, '--presence', 'chat.>', '--presence-event-rate', '2', '--presence-history-size', '2']);
  t.teardown(() => small.stop());
  const network = await startTcpProxy(small.port);
  t.teardown(() => network.close());
  const ann = connect(t, 'ann', network.url);
  const changes = new Inbox<MembersChange<Info>>();
  const room = ann.subscribe('chat.storm', () => {}, { presence: 'connection', onMembers: changes.push });
  await room;
  await until(() => room.members.has('ann'), 'the first snapshot');
  const others = Array.from({ length: 8 }, (_, index) => connect(t, `guest${index}`, small.url));
  await Promise.all(others.map((client) => client.subscribe('chat.storm', () => {})));
  // Coalesced updates: the SDK re-reads once the storm calms (about a second later).
  await until(() => room.members.size === 9, 'the re-read after the coalesced storm', 30_000);
  t.ok(changes.items.filter((change) => change.cause === 'resync').length >= 2, 'a second snapshot, after the storm');
  t.match(room.presenceCounts, { connections: 9, users: 9 });

  network.refuse(true);
  network.cut();
  await until(() => ann.state !== 'connected', 'ann to notice the cut');
  for (const client of others.slice(0, 5)) await client.close();
  network.refuse(false);
  await ann.whenConnected();
  // More entries than the history keeps: presence recovery fails (expired), the list is read again.
  await until(() => room.members.size === 4, 'the list after a failed presence recovery', 30_000);
  t.same([...room.members.keys()].sort(), ['ann', 'guest5', 'guest6', 'guest7']);
});

import t from 'tap';
import { topicMatches } from '@switchboard/protocol';
import { crc16, keySlot, RedisKeyspace, tagForSlots } from '../../src/engine/redis-keyspace.js';

const single = new RedisKeyspace({ prefix: 'sb:', buckets: undefined, wildcardChannelDepth: 2 });
const sharded = new RedisKeyspace({ prefix: 'sb:', buckets: 4, wildcardChannelDepth: 2 });

t.test('hash slots: Redis Cluster spec values', async (t) => {
  t.equal(crc16(Buffer.from('123456789')), 0x31c3, 'CRC16/XMODEM check value');
  t.equal(keySlot('foo'), 12182);
  t.equal(keySlot('{user1000}.following'), keySlot('{user1000}.followers'), 'the tag is hashed');
  t.equal(keySlot('{user1000}.following'), keySlot('user1000'));
  t.equal(keySlot('foo{}{bar}'), crc16(Buffer.from('foo{}{bar}')) % 16_384, 'an empty first tag hashes the whole key');
  t.equal(keySlot('foo{{bar}}zap'), keySlot('{bar'), 'the tag runs from the first { to the next }');
  t.equal(keySlot('foo{bar}{zap}'), keySlot('bar'), 'only the first tag counts');
  // Slots Redis 7.0 answers to CLUSTER KEYSLOT, so a replacement hash function cannot drift unnoticed.
  t.equal(keySlot('foo{}{bar}'), 8363, 'an empty first tag: the whole key, even with a tag after it');
  t.equal(keySlot('a}b{c}'), 7365, 'a } before the first { closes nothing');
  t.equal(keySlot('{}'), 15257);
});

t.test('single Redis: keys and channels carry no tag', async (t) => {
  t.equal(single.metaKey('orders.eu.1'), 'sb:m:orders.eu.1');
  t.equal(single.streamKey('orders.eu.1'), 'sb:s:orders.eu.1');
  t.equal(single.idempotencyKey('orders.eu.1', 'k>1'), 'sb:i:orders.eu.1>k>1', 'a topic never contains >, so the split is unambiguous');
  t.same(single.publishChannels('orders.eu.1'), ['sb:t:orders.eu.1', 'sb:p:', 'sb:p:orders', 'sb:p:orders.eu']);
  t.same(single.publishChannels('orders.eu.1.x'), ['sb:t:orders.eu.1.x', 'sb:p:', 'sb:p:orders', 'sb:p:orders.eu'], 'cut at the depth');
  t.same(single.publishChannels('solo'), ['sb:t:solo', 'sb:p:'], 'a one-segment topic only matches root wildcards');
  t.same(single.subscribeChannels('orders.eu.1'), ['sb:t:orders.eu.1'], 'exact pattern: the topic channel');
  t.same(single.subscribeChannels('orders.*'), ['sb:p:orders']);
  t.same(single.subscribeChannels('orders.>'), ['sb:p:orders']);
  t.same(single.subscribeChannels('orders.*.1'), ['sb:p:orders'], 'the literal prefix before the first wildcard');
  t.same(single.subscribeChannels('orders.eu.1.*'), ['sb:p:orders.eu'], 'cut at the depth');
  t.same(single.subscribeChannels('*.eu'), ['sb:p:']);
  t.same(single.subscribeChannels('>'), ['sb:p:']);
  t.equal(single.canaryChannel('n1'), 'sb:c:n1');
});

t.test('every topic a pattern matches is published on one of the channels the pattern subscribes to', async (t) => {
  const topics = ['a', 'a.b', 'a.b.c', 'a.b.c.d', 'x.b.c', 'a.x.c', 'b'];
  const patterns = ['a', 'a.b', '*', '>', 'a.*', 'a.>', '*.b', '*.b.c', 'a.*.c', 'a.b.*', 'a.b.>', 'a.b.c.*', '*.*.*', 'x.>'];
  for (const depth of [0, 1, 2, 3]) {
    for (const keyspace of [
      new RedisKeyspace({ prefix: 'p:', buckets: undefined, wildcardChannelDepth: depth }),
      new RedisKeyspace({ prefix: 'p:', buckets: 3, wildcardChannelDepth: depth }),
    ]) {
      for (const pattern of patterns) {
        const subscribed = new Set(keyspace.subscribeChannels(pattern));
        for (const topic of topics) {
          if (!topicMatches(pattern, topic)) continue;
          const reached = keyspace.publishChannels(topic).some((channel) => subscribed.has(channel));
          if (!reached) t.fail(`${pattern} misses ${topic} at depth ${depth}, buckets ${keyspace.buckets}`);
        }
      }
    }
  }
  t.pass('no pattern misses a topic it matches');
});

t.test('cluster mode: a topic\'s keys and channels share one slot; wildcards subscribe once per bucket', async (t) => {
  const topic = 'orders.eu.1';
  const tag = sharded.tagOf(topic);
  t.match(tag, /^\{[0-3]\}:$/);
  const names = [
    sharded.metaKey(topic),
    sharded.streamKey(topic),
    sharded.idempotencyKey(topic, 'k'),
    ...sharded.publishChannels(topic),
  ];
  t.ok(names.every((name) => name.startsWith(`sb:${tag}`)));
  t.equal(new Set(names.map(keySlot)).size, 1, 'one slot');
  t.same(sharded.subscribeChannels('orders.*'), ['sb:{0}:p:orders', 'sb:{1}:p:orders', 'sb:{2}:p:orders', 'sb:{3}:p:orders']);
  t.same(sharded.subscribeChannels(topic), [sharded.topicChannel(topic)]);
  t.equal(keySlot(sharded.topicChannel('a{b}c')), keySlot(sharded.metaKey('a{b}c')), 'braces in a topic do not move it');
  const canaryTag = tagForSlots((slot) => slot >= 8000 && slot < 9000);
  t.ok(canaryTag !== undefined && keySlot(sharded.canaryChannel('n1', canaryTag)) >= 8000);
});

t.test('invalid layouts are rejected', async (t) => {
  t.throws(() => new RedisKeyspace({ prefix: 'a{', buckets: undefined, wildcardChannelDepth: 2 }), RangeError);
  t.throws(() => new RedisKeyspace({ prefix: 'sb:', buckets: 0, wildcardChannelDepth: 2 }), RangeError);
  t.throws(() => new RedisKeyspace({ prefix: 'sb:', buckets: 16_385, wildcardChannelDepth: 2 }), RangeError);
  t.throws(() => new RedisKeyspace({ prefix: 'sb:', buckets: undefined, wildcardChannelDepth: -1 }), RangeError);
});

t.test('reserved roots: publications under them skip the root prefix channel p:, so a node subscribed to > never gets them', async (t) => {
  const keyspace = new RedisKeyspace({ prefix: 'sb:', buckets: undefined, wildcardChannelDepth: 2, reservedRoots: ['user'] });
  t.same(keyspace.publishChannels('user.alice'), ['sb:t:user.alice', 'sb:p:user'], 'user.> and user.* still reach it');
  t.same(keyspace.publishChannels('orders.eu'), ['sb:t:orders.eu', 'sb:p:', 'sb:p:orders'], 'other topics unchanged');
  t.notOk(keyspace.publishChannels('user.alice').some((channel) => keyspace.subscribeChannels('>').includes(channel)));
  const sharded = new RedisKeyspace({ prefix: 'sb:', buckets: 4, wildcardChannelDepth: 2, reservedRoots: ['user'] });
  const tag = sharded.tagOf('user.alice');
  t.same(sharded.publishChannels('user.alice'), [`sb:${tag}t:user.alice`, `sb:${tag}p:user`]);
});

t.test('admin command channels sit on the control tag in cluster mode, untagged on a single Redis (like nodes)', async (t) => {
  t.equal(single.commandChannel(), 'sb:cmd');
  t.equal(single.answerChannel('n1'), 'sb:r:n1');
  t.equal(sharded.commandChannel(), 'sb:{ctl}:cmd');
  t.equal(sharded.answerChannel('n1'), 'sb:{ctl}:r:n1');
  t.equal(keySlot(sharded.commandChannel()), keySlot(sharded.answerChannel('n2')), 'one slot: one shard holds every subscriber');
  t.equal(keySlot(sharded.commandChannel()), keySlot(sharded.nodesKey()));
});

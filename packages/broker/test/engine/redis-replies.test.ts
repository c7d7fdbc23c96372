import t from 'tap';
import { parseClusterSlots, parseDurability, parseHistoryReply, parsePublishReply, parseReplication } from '../../src/engine/redis-replies.js';

t.test('publish reply: {duplicate, offset, epoch}; anything else is not a reply', async (t) => {
  t.same(parsePublishReply([0, '7', 'e1-1']), { offset: 7, epoch: 'e1-1', duplicate: false });
  t.same(parsePublishReply([1, 3, 'e1-1']), { offset: 3, epoch: 'e1-1', duplicate: true }, 'an integer reply reads too');
  t.equal(parsePublishReply('OK'), undefined);
  t.equal(parsePublishReply([0, 'x', 'e']), undefined, 'an offset that is not one');
  t.equal(parsePublishReply([0, '-1', 'e']), undefined);
});

t.test('history reply: position, status and entries; unknown entry fields and malformed entries are skipped', async (t) => {
  const body = Buffer.from('{"t":"a","p":"normal","e":"json"}\n1');
  const reply = [
    Buffer.from('e1-1'),
    Buffer.from('5'),
    Buffer.from('ok'),
    [
      [Buffer.from('4-0'), [Buffer.from('x'), Buffer.from('99'), Buffer.from('b'), body, Buffer.from('t'), Buffer.from('1700')]],
      [Buffer.from('5-0'), [Buffer.from('b'), body]],
      'not an entry',
    ],
  ];
  t.same(parseHistoryReply(reply), { epoch: 'e1-1', offset: 5, status: 'ok', entries: [{ offset: 4, time: 1700, body }] });
  t.equal(parseHistoryReply([Buffer.from('e'), Buffer.from('1'), Buffer.from('expired'), []])?.status, 'expired');
  t.equal(parseHistoryReply([Buffer.from('e'), Buffer.from('1'), Buffer.from('epoch-mismatch'), []])?.status, 'epoch_mismatch', "in the wire's words");
  t.equal(parseHistoryReply([Buffer.from('e'), Buffer.from('1'), Buffer.from('no-history'), []])?.status, 'no_history', "in the wire's words");
  t.equal(parseHistoryReply([Buffer.from('e'), Buffer.from('1'), Buffer.from('lost'), []]), undefined, 'an unknown status');
  t.equal(parseHistoryReply([Buffer.from('e'), Buffer.from('1'), Buffer.from('ok')]), undefined, 'three parts');
});

t.test('CLUSTER SLOTS: one range per master, replicas ignored, malformed ranges skipped', async (t) => {
  const reply = [
    [0, 5460, ['127.0.0.1', 7000, 'id-a'], ['127.0.0.1', 7003, 'id-d']],
    [5461, 16383, ['10.0.0.2', 7001, 'id-b']],
    ['0', 1, ['h', 1]],
    'junk',
  ];
  t.same(parseClusterSlots(reply), [
    { first: 0, last: 5460, host: '127.0.0.1', port: 7000 },
    { first: 5461, last: 16383, host: '10.0.0.2', port: 7001 },
  ]);
  t.same(parseClusterSlots(null), []);
});

t.test('INFO replication: the master replication id, or empty; promoted when master_replid2 is set', async (t) => {
  t.equal(parseReplication('# Replication\r\nrole:master\r\nmaster_replid:4f2a9c\r\nmaster_replid2:000\r\n').replicationId, '4f2a9c');
  t.equal(parseReplication('# Replication\r\nrole:master\r\n').replicationId, '');
  t.equal(parseReplication('master_replid:4f2a9c\r\nmaster_replid2:0000000000000000000000000000000000000000\r\n').promoted, false);
  t.equal(parseReplication('master_replid:4f2a9c\r\nmaster_replid2:91bb07\r\n').promoted, true, 'a replica that took over');
  t.equal(parseReplication('master_replid:4f2a9c\r\n').promoted, false);
});

t.test('CONFIG GET append*: durable only with appendonly yes and appendfsync always', async (t) => {
  t.equal(parseDurability(['appendonly', 'yes', 'appendfilename', 'appendonly.aof', 'appendfsync', 'always']), true);
  t.equal(parseDurability(['appendonly', 'yes', 'appendfsync', 'everysec']), false, 'a second of writes may be lost');
  t.equal(parseDurability(['appendonly', 'no', 'appendfsync', 'always']), false);
  t.equal(parseDurability(undefined), false, 'CONFIG refused');
});

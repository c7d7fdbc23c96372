import type { ClientMessage } from '@switchboard/protocol';
import t from 'tap';
import { type DecodeFailure, InboundQueue, type InboundOwner } from '../../src/connection/session-inbound.js';
import { BrokerStats } from '../../src/stats.js';

/** Inbound order: a request that waits for the engine holds back what follows (protocol.md §6). */

function setup(maxPendingRequests = 10) {
  const log: string[] = [];
  const waits = new Map<number, () => void>();
  const owner: InboundOwner & { isOpen: boolean } = {
    isOpen: true,
    inbound: undefined,
    config: { maxPendingRequests },
    context: { stats: new BrokerStats() },
    handle(message: ClientMessage) {
      const id = 'id' in message ? message.id : undefined;
      log.push(`${message.op}:${id}`);
      // A subscribe waits until the test lets it go, like one waiting for the engine.
      if (message.op !== 'subscribe') return undefined;
      return new Promise<void>((resolve) => waits.set(message.id, resolve));
    },
    refuse(failure: DecodeFailure) {
      log.push(`refused:${failure.error.code}:${failure.id}`);
    },
    close(code: number, reason: string) {
      log.push(`close:${code}:${reason}`);
      owner.isOpen = false;
    },
    internalError(error: unknown) {
      log.push(`internal:${(error as Error).message}`);
    },
  };
  let sentBytes = 0;
  const receive = (text: string): void => {
    sentBytes += Buffer.byteLength(text);
    InboundQueue.receive(owner, text, false);
  };
  const send = (message: object): void => receive(JSON.stringify(message));
  const tick = () => new Promise((resolve) => setImmediate(resolve));
  return { owner, log, waits, send, receive, tick, stats: owner.context.stats, sentBytes: () => sentBytes };
}

t.test('messages run in order; one that waits holds back the rest, invalid ones included', async (t) => {
  const { log, waits, send, receive, tick, stats, sentBytes } = setup();
  send({ op: 'subscribe', id: 1, pattern: 'a' });
  send({ op: 'ping', id: 2 });
  receive('not json');
  send({ op: 'ping', id: 3 });
  await tick();
  t.same(log, ['subscribe:1'], 'the rest waits for the subscribe');
  waits.get(1)?.();
  await tick();
  t.same(log, ['subscribe:1', 'ping:2', 'refused:malformed:undefined', 'ping:3']);
  t.equal(stats.messagesReceived, 4);
  t.equal(stats.bytesReceived, sentBytes());
});

t.test('more waiting than maxPendingRequests closes with 4003', async (t) => {
  const { log, send, tick } = setup(2);
  send({ op: 'subscribe', id: 1, pattern: 'a' });
  for (let id = 2; id <= 4; id++) send({ op: 'ping', id });
  await tick();
  t.same(log, ['subscribe:1', 'close:4003:too many requests waiting for the engine']);
});

t.test('a handler that throws is an internal error; the queue goes on', async (t) => {
  const { owner, log, send, tick } = setup();
  const handle = owner.handle.bind(owner);
  owner.handle = (message) => {
    if (message.op === 'ping' && message.id === 1) throw new Error('bug');
    return handle(message);
  };
  send({ op: 'ping', id: 1 });
  send({ op: 'ping', id: 2 });
  await tick();
  t.same(log, ['internal:bug', 'ping:2']);
});

t.test('nothing is handled once the connection is closing; clear drops what waits', async (t) => {
  const { owner, log, waits, send, tick } = setup();
  send({ op: 'subscribe', id: 1, pattern: 'a' });
  send({ op: 'ping', id: 2 });
  owner.inbound?.clear();
  owner.isOpen = false;
  waits.get(1)?.();
  send({ op: 'ping', id: 3 });
  await tick();
  t.same(log, ['subscribe:1']);
});

t.test('a queue exists only while a message is being handled', async (t) => {
  const { owner, waits, send, tick } = setup();
  send({ op: 'ping', id: 1 });
  await tick();
  t.equal(owner.inbound, undefined, 'none after a message handled at once');
  send({ op: 'subscribe', id: 2, pattern: 'a' });
  t.not(owner.inbound, undefined, 'one while the subscribe waits');
  waits.get(2)?.();
  await tick();
  t.equal(owner.inbound, undefined, 'none once it is answered');
});

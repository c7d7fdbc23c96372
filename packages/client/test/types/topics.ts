/**
 * Type tests, checked by `tsc -b` (the client project) (never run). Every `@ts-expect-error` must be
 * an error: if a misuse compiles, tsc reports the directive as unused.
 */
import * as z from 'zod/mini';
import { type Client, type Message, type PublishAck, type Subscription, createClient } from '../../src/index.js';

interface Topics {
  'chat.*': { user: string; text: string };
  'alerts.fire': string;
  'video.>': Uint8Array;
  'prices.*': number | null;
  'orders.*.created': { id: number };
}

declare const client: Client<Topics>;
declare const room: string;

/** Compile-time equality: `Expect<Equal<A, B>>` fails unless A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;

// ---- publish: topics ----

void client.publish('chat.lobby', { user: 'ann', text: 'hi' });
void client.publish(`chat.${room}`, { user: 'ann', text: 'hi' });
void client.publish('alerts.fire', 'evacuate', { priority: 'high', key: 'alarm-1' });
void client.publish('video.cam1', new Uint8Array([1, 2, 3]));
void client.publish('video.cam1.hd', Buffer.from([1, 2, 3]));
void client.publish('video.cam1', new ArrayBuffer(8));
void client.publish('prices.AAPL', 187.5);
void client.publish('prices.AAPL', null);
void client.publish('orders.eu.created', { id: 1 });

// @ts-expect-error unknown topic
void client.publish('nope', 'x');
// @ts-expect-error unknown topic with a declared prefix
void client.publish('alerts.flood', 'x');
// @ts-expect-error `*` matches exactly one segment
void client.publish('chat.a.b', { user: 'ann', text: 'hi' });
// @ts-expect-error `>` needs at least one more segment
void client.publish('video', new Uint8Array(1));
// @ts-expect-error publishes name a concrete topic; a plain string could be anything
void client.publish(room, 'x');

// ---- publish: payloads ----

// @ts-expect-error wrong payload type for the topic
void client.publish('alerts.fire', 42);
// @ts-expect-error missing field
void client.publish('chat.lobby', { user: 'ann' });
// @ts-expect-error wrong field type
void client.publish('chat.lobby', { user: 'ann', text: 7 });
// @ts-expect-error a JSON topic does not take bytes
void client.publish('chat.lobby', new Uint8Array(1));
// @ts-expect-error a binary topic does not take JSON
void client.publish('video.cam1', { frame: 1 });
// @ts-expect-error the union does not include strings
void client.publish('prices.AAPL', '187.5');
// @ts-expect-error not a priority
void client.publish('alerts.fire', 'x', { priority: 'urgent' });

// ---- publish: results ----

export const acked: Promise<PublishAck> = client.publish('alerts.fire', 'x');
export const unacked: Promise<void> = client.publish('alerts.fire', 'x', { ack: false });
declare const wantAck: boolean;
export const maybeAcked: Promise<PublishAck | undefined> = client.publish('alerts.fire', 'x', { ack: wantAck });
// @ts-expect-error with ack: false there is no ack to read
export const noAck: Promise<PublishAck> = client.publish('alerts.fire', 'x', { ack: false });

// ---- subscribe: patterns and payload types ----

const chat = client.subscribe('chat.*', (message) => {
  type _ = Expect<Equal<typeof message, Message<{ user: string; text: string }>>>;
  message.data.text.toUpperCase();
});
type _ChatSubscription = Expect<Equal<typeof chat, Subscription<{ user: string; text: string }>>>;

client.subscribe('chat.lobby', (message) => {
  type _ = Expect<Equal<typeof message.data, { user: string; text: string }>>;
});
client.subscribe('video.>', (message) => {
  type _ = Expect<Equal<typeof message.data, Uint8Array>>;
});
client.subscribe('video.cam1.*', (message) => {
  type _ = Expect<Equal<typeof message.data, Uint8Array>>;
});
client.subscribe('alerts.*', (message) => {
  type _ = Expect<Equal<typeof message.data, string>>;
});
client.subscribe('*.fire', (message) => {
  // alerts.fire, but also chat.fire, prices.fire and video.fire could exist.
  type _ = Expect<Equal<typeof message.data, string | { user: string; text: string } | number | null | Uint8Array>>;
});
client.subscribe('orders.>', (message) => {
  type _ = Expect<Equal<typeof message.data, { id: number }>>;
});
client.subscribe('*.*', (message) => {
  // chat.*, alerts.fire, video.> (video.x) and prices.* can all match two segments; orders.*.created cannot.
  type _ = Expect<Equal<typeof message.data, { user: string; text: string } | string | Uint8Array | number | null>>;
});
client.subscribe('>', (message) => {
  type _ = Expect<Equal<typeof message.data, Topics[keyof Topics]>>;
});
client.subscribe(`chat.${room}`, (message) => {
  type _ = Expect<Equal<typeof message.data, { user: string; text: string }>>;
});

// @ts-expect-error no declared topic matches the pattern
client.subscribe('nope.*', () => {});
// @ts-expect-error alerts.fire has two segments
client.subscribe('alerts.*.*', () => {});
client.subscribe('chat.*', (message) => {
  // @ts-expect-error the payload has no such field
  void message.data.missing;
});
client.subscribe('video.>', (message) => {
  // @ts-expect-error binary payloads are bytes, not JSON objects
  void message.data.user;
});

// ---- untyped clients accept any topic and payload ----

declare const untyped: Client;
void untyped.publish('anything.at.all', { any: 'json' });
void untyped.publish(room, new Uint8Array(1));
untyped.subscribe('x.>', (message) => {
  type _ = Expect<Equal<typeof message.data, unknown>>;
});

// ---- schemas declare the map and validate at run time ----

export function withSchemas(): void {
  const validated = createClient({
    url: 'ws://localhost/',
    autoConnect: false,
    schemas: {
      'chat.*': z.object({ user: z.string(), text: z.string() }),
      'counter.>': z.number(),
    },
  });
  void validated.publish('chat.x', { user: 'ann', text: 'hi' });
  void validated.publish('counter.a.b', 3);
  // @ts-expect-error the schema says number
  void validated.publish('counter.a', 'three');
  // @ts-expect-error not declared by any schema
  void validated.publish('other', 1);
  validated.subscribe('chat.*', (message) => {
    type _ = Expect<Equal<typeof message.data, { user: string; text: string }>>;
  });

  // A type map with schemas for some of its patterns; the schemas must agree with the map.
  createClient<Topics>({ url: 'ws://localhost/', autoConnect: false, schemas: { 'alerts.fire': z.string() } });
  // @ts-expect-error the schema's output does not match the map's payload
  createClient<Topics>({ url: 'ws://localhost/', autoConnect: false, schemas: { 'alerts.fire': z.number() } });
}

// ---- presence: Info typed through the client's second parameter ----

{
  interface Info {
    name: string;
  }
  const withInfo = createClient<Topics, Info>({ url: 'ws://localhost/', autoConnect: false });
  const room1 = withInfo.subscribe('chat.room1', () => {}, {
    presence: 'user',
    onJoin: (event) => {
      type _ = Expect<Equal<typeof event.info, Info | null>>;
    },
    onLeave: (event) => {
      type _ = Expect<Equal<typeof event.reason, 'left' | 'disconnected' | 'expired' | 'server'>>;
    },
    onMembers: (change) => {
      type _ = Expect<Equal<typeof change.members, ReadonlyMap<string, ReadonlyMap<string, Info | null>>>>;
    },
  });
  type _members = Expect<Equal<typeof room1.members, ReadonlyMap<string, ReadonlyMap<string, Info | null>>>>;
  void room1.presence().then((snapshot) => {
    type _ = Expect<Equal<(typeof snapshot.users)[string][string], Info | null>>;
  });
  // @ts-expect-error a level is 'user' or 'connection'
  withInfo.subscribe('chat.room1', () => {}, { presence: 'everyone' });
  const listened: Subscription<{ user: string; text: string }, Info> = withInfo.listen('chat.support', () => {});
  void listened;
}

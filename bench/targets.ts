// How the fan-out load speaks to each kind of server.
import type { Target } from './fanout-load.js';

const TOPIC = 'bench.fanout';

/** Our broker (`pubsub.v1`) on the given ports. */
export function switchboardTarget(name: string, ports: number[]): Target {
  return {
    name,
    urls: ports.map((port) => `ws://127.0.0.1:${port}/`),
    protocols: ['pubsub.v1'],
    subscribe: JSON.stringify({ op: 'subscribe', id: 1, pattern: TOPIC }),
    isSubscribed: (text) => text.startsWith('{"op":"subscribed"'),
    publish: (data) => `{"op":"publish","topic":"${TOPIC}","priority":"normal","data":${data}}`,
  };
}

/** The minimal broker on `ws` (`servers/ws-broker.ts`) on the given ports. */
export function wsBrokerTarget(name: string, ports: number[]): Target {
  return {
    name,
    urls: ports.map((port) => `ws://127.0.0.1:${port}/`),
    protocols: [],
    subscribe: JSON.stringify({ op: 'subscribe', topic: TOPIC }),
    isSubscribed: (text) => text === '{"op":"subscribed"}',
    publish: (data) => `{"op":"publish","topic":"${TOPIC}","data":${data}}`,
  };
}

/**
 * A Socket.IO 4 server (`servers/socketio-broker.ts`) on the given ports, spoken to in its own wire format
 * over a plain WebSocket: Engine.IO v4 packets (`0` open, `2`/`3` ping/pong, `4` message) carrying
 * Socket.IO packets (`0` namespace connect, `2` event).
 */
export function socketIoTarget(name: string, ports: number[]): Target {
  return {
    name,
    urls: ports.map((port) => `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`),
    protocols: [],
    greeting: '40',
    subscribe: `42${JSON.stringify(['subscribe', TOPIC])}`,
    isSubscribed: (text) => text === '42["subscribed"]',
    publish: (data) => `42["publish","${TOPIC}",${data}]`,
    keepAliveReply: (text) => (text === '2' ? '3' : undefined),
  };
}

/**
 * A NATS server's WebSocket listener (`nats-cluster.ts`) on the given ports, spoken to in NATS's text
 * protocol: CONNECT without verbose acknowledgements, SUB, PUB; a PING after the SUB is answered by a PONG
 * only once the server has processed the SUB, which is what makes the subscription count as in place.
 */
export function natsTarget(name: string, ports: number[]): Target {
  const connect = `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, tls_required: false, name: 'bench', lang: 'node', version: '0', protocol: 1, echo: false })}\r\n`;
  return {
    name,
    urls: ports.map((port) => `ws://127.0.0.1:${port}/`),
    protocols: [],
    hello: connect,
    stream: true,
    subscribe: `SUB ${TOPIC} 1\r\nPING\r\n`,
    isSubscribed: (text) => text.includes('PONG\r\n'),
    publish: (data) => `PUB ${TOPIC} ${Buffer.byteLength(data)}\r\n${data}\r\n`,
    keepAliveReply: (text) => (text.includes('PING\r\n') ? 'PONG\r\n' : undefined),
  };
}

/** A target as plain data, for the load's child processes to build it from (functions do not cross IPC). */
export interface TargetSpec {
  kind: 'switchboard' | 'ws broker' | 'socket.io' | 'nats';
  name: string;
  ports: number[];
}

export function targetFor({ kind, name, ports }: TargetSpec): Target {
  const build = { switchboard: switchboardTarget, 'ws broker': wsBrokerTarget, 'socket.io': socketIoTarget, nats: natsTarget }[kind];
  return build(name, ports);
}

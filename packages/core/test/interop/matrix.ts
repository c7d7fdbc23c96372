/**
 * The interop matrix: every pair of our engine and a real peer runs the same named checks, each test asserts
 * every one of them, and when INTEROP_RESULTS names a file (only `pnpm interop` sets it) each row is also
 * appended to it as one JSON line, from which scripts/interop-report.ts writes docs/interop.md.
 */
import { appendFileSync } from 'node:fs';
import type { Test } from 'tap';
import { connect, type WebSocket } from '../../src/index.js';
import { FRAGMENTED, PING_BETWEEN_FRAGMENTS, sendFragmented, type EchoServer } from '../helpers/echo-peer.js';
import { MessageQueue, closed, opened, pattern } from '../helpers/events.js';

/** Every check, in the order the report shows them. */
export const CHECKS = [
  'subprotocol',
  'deflate',
  'text-ascii',
  'text-utf8',
  'binary-0',
  'binary-125',
  'binary-126',
  'binary-65535',
  'binary-65536',
  'binary-1MiB',
  'fragments-in',
  'fragments-out',
  'peer-ping',
  'our-ping',
  'close-from-us',
  'close-from-peer',
  'no-subprotocol-abort',
] as const;
export type Check = (typeof CHECKS)[number];

/** What each check proves, for the report's legend. */
export const CHECK_MEANING: Record<Check, string> = {
  subprotocol: 'both sides agree on `pubsub.v1`',
  deflate: 'permessage-deflate negotiated when offered (deflate rows), not negotiated otherwise',
  'text-ascii': 'an ASCII text message is echoed exactly',
  'text-utf8': 'a text message of 2-, 3- and 4-byte UTF-8 characters is echoed exactly',
  'binary-0': 'an empty binary message is echoed',
  'binary-125': 'binary, largest 7-bit length',
  'binary-126': 'binary, smallest 16-bit length',
  'binary-65535': 'binary, largest 16-bit length',
  'binary-65536': 'binary, smallest 64-bit length',
  'binary-1MiB': 'binary, 1 MiB',
  'fragments-in':
    'we receive: a text message the peer sends in fragments (splitting a multi-byte character, or ending with an empty continuation, as that peer does) arrives whole at our side',
  'fragments-out':
    'we send: a text message our side sends with `sendFragment` in three fragments (the second splitting a 2-byte character, a ping between the first two; compressed with RSV1 on the first frame only in deflate rows) arrives whole at the peer, which answers the ping; a peer server echoes the message back, a peer client checks it',
  'peer-ping': "the peer's ping is answered with its payload",
  'our-ping': 'our ping is answered with its payload',
  'close-from-us': 'we close with 4001 and a reason; the peer reports that code and reason',
  'close-from-peer': 'the peer closes with 4000 and a reason; we report that code and reason, cleanly',
  'no-subprotocol-abort':
    'offered `pubsub.v1` and answered with no subprotocol, the client aborts: so the server must always select one',
};

/** A check that passed, failed, or cannot run with this peer (with the reason, shown in the report). */
export type CheckValue = boolean | { na: string };

export interface MatrixRow {
  peer: string;
  /** Which side the peer plays. */
  peerRole: 'client' | 'server';
  deflate: boolean;
  checks: Partial<Record<Check, CheckValue>>;
  /** Remarks on what the peer's API hides or does differently. */
  notes?: string[];
}

/**
 * Asserts every check of `row` (true, or not applicable with a reason) and that no check was left out,
 * then records the row for the report when INTEROP_RESULTS is set.
 */
export function assertRow(t: Test, row: MatrixRow): void {
  for (const check of CHECKS) {
    const value = row.checks[check];
    if (value === undefined) {
      t.fail(`${check}: not run and no reason given`);
    } else if (typeof value === 'object') {
      t.pass(`${check}: not applicable (${value.na})`);
    } else {
      t.ok(value, `${check}: ${CHECK_MEANING[check]}`);
    }
  }
  const file = process.env['INTEROP_RESULTS'];
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify(row)}\n`);
}

/** What the broker-behind-a-proxy rows check. */
export const PROXY_CHECKS = ['handshake', 'subscribe', 'round-trip', 'round-trip-64KiB', 'clean-close'] as const;
export type ProxyCheck = (typeof PROXY_CHECKS)[number];
export const PROXY_CHECK_MEANING: Record<ProxyCheck, string> = {
  handshake: 'the upgrade passes the proxy: `pubsub.v1` selected and the welcome received',
  subscribe: 'a subscribe is answered',
  'round-trip': 'a publish from a second connection is acknowledged and delivered to the subscriber',
  'round-trip-64KiB': 'the same with 65,500 bytes of data: one frame each way with a 64-bit length (larger payloads travel in pubsub.v1 chunks)',
  'clean-close': 'our close 1000 comes back through the proxy and the connection ends cleanly',
};

export interface ProxyRow {
  proxy: string;
  checks: Partial<Record<ProxyCheck, boolean>>;
}

/** Asserts every proxy check and records the row (with `kind: 'proxy'`) when INTEROP_RESULTS is set. */
export function recordProxyRow(t: Test, row: ProxyRow): void {
  for (const check of PROXY_CHECKS) t.ok(row.checks[check] === true, `${check}: ${PROXY_CHECK_MEANING[check]}`);
  const file = process.env['INTEROP_RESULTS'];
  if (file !== undefined && file !== '') appendFileSync(file, `${JSON.stringify({ kind: 'proxy', ...row })}\n`);
}

/** A peer's own JSON report: null for a check it skipped (the test must give the reason). */
export interface PeerReport {
  subprotocol: string;
  extensions: string | string[];
  checks: Record<string, boolean | null>;
}

/** Turns a peer's report into checks, with the reasons for the ones it skipped. */
export function peerChecks(report: PeerReport, reasons: Partial<Record<Check, string>> = {}): Partial<Record<Check, CheckValue>> {
  const checks: Partial<Record<Check, CheckValue>> = {};
  for (const [name, value] of Object.entries(report.checks)) {
    const check = name as Check;
    if (value === null) {
      const reason = reasons[check];
      checks[check] = reason === undefined ? false : { na: reason };
    } else {
      checks[check] = value;
    }
  }
  return checks;
}

export const TEXTS = { 'text-ascii': 'hello, switchboard', 'text-utf8': 'κόσμε 🚀 ünïcödé 世界' } as const;
export const SIZES = { 'binary-0': 0, 'binary-125': 125, 'binary-126': 126, 'binary-65535': 65535, 'binary-65536': 65536, 'binary-1MiB': 1 << 20 } as const;
/**
 * What a peer server sends in fragments on the "fragments" command, what a peer client sends in fragments,
 * and what our side sends in fragments (helpers/echo-peer.ts), to a peer server as a message it echoes and
 * to a peer client in answer to "fragments".
 */
export { FRAGMENTED };
export const US_CLOSE = { code: 4001, reason: 'bye from switchboard' } as const;
export const PEER_CLOSE = { code: 4000, reason: 'bye from peer' } as const;

/** The peer's first connection to our server, once it exists (undefined after 10 s). */
async function firstConnection(server: EchoServer): Promise<WebSocket | undefined> {
  const deadline = Date.now() + 10_000;
  while (server.connections[0] === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  return server.connections[0];
}

/**
 * Our server's side of a client peer's run: whether the peer's first connection answers the ping our
 * server sends between the fragments of its answer to "fragments" (read once the peer is done).
 */
function pongBetweenFragments(server: EchoServer): () => boolean {
  let answered = false;
  void firstConnection(server).then((websocket) =>
    websocket?.on('pong', (data) => {
      if (data.toString() === PING_BETWEEN_FRAGMENTS) answered = true;
    }),
  );
  return () => answered;
}

/** Our server's side of a client peer's run: it pings the peer's first connection as soon as it opens. */
export async function ourPing(server: EchoServer): Promise<boolean> {
  const websocket = await firstConnection(server);
  if (websocket === undefined || websocket.readyState !== 1) return false;
  const pong = pongOf(websocket, 'switchboard ping', 5000);
  websocket.ping(Buffer.from('switchboard ping'));
  return pong;
}

/**
 * Resolves true once a pong with `payload` arrives, false after `ms`. Other pongs are let by: the ping sent
 * between fragments is answered too, and a pong may come late.
 */
function pongOf(websocket: WebSocket, payload: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const onPong = (data: Buffer): void => {
      if (data.toString() !== payload) return;
      clearTimeout(timer);
      websocket.off('pong', onPong);
      resolve(true);
    };
    const timer = setTimeout(() => {
      websocket.off('pong', onPong);
      resolve(false);
    }, ms);
    websocket.on('pong', onPong);
  });
}

export interface ServerPeerOptions {
  deflate: boolean;
  /** The peer answers "fragments" with a fragmented message (fragments-in). */
  fragments: boolean;
  /** Checks not to run with this peer (the caller gives the reasons). */
  skip?: readonly Check[];
}

/**
 * Our core client against a peer's echo server at `url`: runs every check that our client can drive and
 * returns them. `closeFromUs` is left to the caller, which knows how the peer reports a close it received:
 * the second connection this opens closes with US_CLOSE, and the caller reads what the peer saw.
 */
export async function driveServer(url: string, options: ServerPeerOptions): Promise<Partial<Record<Check, CheckValue>>> {
  const checks: Partial<Record<Check, CheckValue>> = {};
  // A server that never ends TCP after the closing handshake (ws4py) costs closeTimeout, not 5 s.
  const websocket = connect(url, { protocols: ['pubsub.v1'], perMessageDeflate: options.deflate ? { threshold: 0 } : false, closeTimeout: 500 });
  const messages = new MessageQueue(websocket);
  await opened(websocket);
  checks.subprotocol = websocket.protocol === 'pubsub.v1';
  checks.deflate = websocket.extensions.startsWith('permessage-deflate') === options.deflate;
  const echo = async (data: string | Buffer): Promise<boolean> => {
    if (websocket.readyState !== 1) return false;
    websocket.send(data);
    try {
      const reply = await messages.next(10_000);
      if (typeof data === 'string') return !reply.isBinary && reply.data === data;
      return reply.isBinary && Buffer.compare(reply.data as Buffer, data) === 0;
    } catch {
      return false;
    }
  };
  const skip = new Set(options.skip ?? []);
  for (const [check, text] of Object.entries(TEXTS)) if (!skip.has(check as Check)) checks[check as Check] = await echo(text);
  for (const [check, size] of Object.entries(SIZES)) if (!skip.has(check as Check)) checks[check as Check] = await echo(pattern(size));
  if (websocket.readyState !== 1) {
    // The peer dropped the connection: what is left fails, and the rest of the row says so.
    return { ...checks, 'fragments-in': false, 'fragments-out': false, 'our-ping': false, 'close-from-peer': false, 'close-from-us': false };
  }
  const isFragmented = (reply: { data: unknown; isBinary: boolean }): boolean => !reply.isBinary && reply.data === FRAGMENTED;
  if (options.fragments) {
    websocket.send('fragments');
    checks['fragments-in'] = await messages.next(10_000).then(isFragmented, () => false);
  }
  const pongBetween = pongOf(websocket, PING_BETWEEN_FRAGMENTS, 10_000);
  sendFragmented(websocket);
  const echoed = await messages.next(10_000).then(isFragmented, () => false);
  checks['fragments-out'] = echoed && (await pongBetween);
  checks['our-ping'] = await pingOf(websocket);
  const closing = closed(websocket);
  websocket.send(`close:${PEER_CLOSE.code}:${PEER_CLOSE.reason}`);
  const event = await closing;
  checks['close-from-peer'] = event.code === PEER_CLOSE.code && event.reason === PEER_CLOSE.reason && event.wasClean;

  const second = connect(url, { protocols: ['pubsub.v1'], perMessageDeflate: options.deflate ? { threshold: 0 } : false, closeTimeout: 500 });
  await opened(second);
  second.close(US_CLOSE.code, US_CLOSE.reason);
  const ours = await closed(second);
  // We report the code the peer answered with, which need not be ours (§5.5.1 says "typically echoing");
  // the caller checks what the peer itself saw.
  if (!ours.wasClean) checks['close-from-us'] = false;
  return checks;
}

function pingOf(websocket: WebSocket): Promise<boolean> {
  const pong = pongOf(websocket, 'switchboard ping', 5000);
  websocket.ping(Buffer.from('switchboard ping'));
  return pong;
}

export interface ClientPeerRun {
  peer: string;
  deflate: boolean;
  /** Runs the peer program against our server and resolves with its JSON report (its last stdout line). */
  run: (url: string) => Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Reasons for the checks this peer cannot run. */
  reasons?: Partial<Record<Check, string>>;
  notes?: string[];
  /** Checks made elsewhere, e.g. no-subprotocol-abort. */
  extra?: Partial<Record<Check, CheckValue>>;
}

/**
 * A client peer against our echo server: the peer runs its checks and reports them; our server adds what
 * it saw (subprotocol, extension, its own ping, the peer's close code on the second connection).
 */
export async function runClientPeer(t: Test, options: ClientPeerRun, startServer: typeof import('../helpers/echo-peer.js').startEchoServer): Promise<void> {
  const server = await startServer({ protocols: ['pubsub.v1'], perMessageDeflate: options.deflate ? { threshold: 0 } : false });
  t.teardown(() => server.close());
  const pinged = ourPing(server);
  const pongBetween = pongBetweenFragments(server);
  const result = await options.run(server.url);
  t.equal(result.code, 0, `the peer exited cleanly${result.stderr === '' ? '' : `: ${result.stderr}`}`);
  const line = result.stdout.trim().split('\n').pop() ?? '';
  let report: PeerReport;
  try {
    report = JSON.parse(line) as PeerReport;
  } catch {
    t.fail(`the peer printed no report: ${result.stdout}`);
    return;
  }
  const first = server.connections[0];
  const extensions = Array.isArray(report.extensions) ? report.extensions.join(', ') : report.extensions;
  const peerClose = await within(server.closeOf(1), 5000);
  const reported = peerChecks(report, options.reasons);
  const checks: Partial<Record<Check, CheckValue>> = {
    ...reported,
    // The peer saw the message whole; our server saw the pong to the ping between its fragments.
    ...(reported['fragments-out'] === true ? { 'fragments-out': pongBetween() } : {}),
    subprotocol: report.subprotocol === 'pubsub.v1' && first?.protocol === 'pubsub.v1',
    deflate: extensions.includes('permessage-deflate') === options.deflate && (first?.extensions.startsWith('permessage-deflate') ?? false) === options.deflate,
    'our-ping': await pinged,
    'close-from-peer':
      peerClose !== undefined && peerClose.code === PEER_CLOSE.code && peerClose.reason === PEER_CLOSE.reason && peerClose.wasClean,
    'no-subprotocol-abort': { na: 'only browsers and ws abort on a missing subprotocol; this peer goes on without one' },
    ...options.extra,
  };
  for (const [check, reason] of Object.entries(options.reasons ?? {})) {
    if (checks[check as Check] === undefined) checks[check as Check] = { na: reason };
  }
  assertRow(t, { peer: options.peer, peerRole: 'client', deflate: options.deflate, checks, ...(options.notes ? { notes: options.notes } : {}) });
}

export interface ServerPeerRun {
  peer: string;
  deflate: boolean;
  /** Starts the peer's echo server; it prints "listening PORT", then "closed CODE REASON" per close frame it got. */
  start: () => Promise<{ readyLine: string; output(): string; stop(): Promise<void> }>;
  fragments: boolean;
  reasons?: Partial<Record<Check, string>>;
  notes?: string[];
  /** The peer cannot report the close code it received: close-from-us is judged by our side only. */
  closeCodeHidden?: string;
  extra?: Partial<Record<Check, CheckValue>>;
}

/** Our client against a peer's echo server. */
export async function runServerPeer(t: Test, options: ServerPeerRun): Promise<void> {
  const server = await options.start();
  t.teardown(() => server.stop());
  const port = Number(/listening (\d+)/.exec(server.readyLine)?.[1]);
  const checks = await driveServer(`ws://127.0.0.1:${port}/`, {
    deflate: options.deflate,
    fragments: options.fragments,
    skip: Object.keys(options.reasons ?? {}) as Check[],
  });
  if (checks['close-from-us'] === undefined) {
    if (options.closeCodeHidden !== undefined) {
      checks['close-from-us'] = { na: options.closeCodeHidden };
    } else {
      const wanted = `closed ${US_CLOSE.code} ${US_CLOSE.reason}`;
      const deadline = Date.now() + 5000;
      while (!server.output().includes(wanted) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      checks['close-from-us'] = server.output().includes(wanted);
    }
  }
  const all: Partial<Record<Check, CheckValue>> = {
    'peer-ping': { na: 'our client drives this pair; the peer server is pinged (our-ping)' },
    'no-subprotocol-abort': { na: 'our client goes on without a subprotocol when the server selects none (RFC 6455 §4.1 allows it)' },
    ...(options.fragments ? {} : { 'fragments-in': { na: options.reasons?.['fragments-in'] ?? 'the peer cannot send fragmented messages' } }),
    ...checks,
    ...options.extra,
  };
  for (const [check, reason] of Object.entries(options.reasons ?? {})) {
    if (all[check as Check] === undefined) all[check as Check] = { na: reason };
  }
  assertRow(t, { peer: options.peer, peerRole: 'server', deflate: options.deflate, checks: all, ...(options.notes ? { notes: options.notes } : {}) });
}

/** `promise`'s value, or undefined after `ms`; the timer never outlives the promise. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    void promise.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

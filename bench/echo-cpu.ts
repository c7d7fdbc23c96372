// Echo of large messages, counted per server CPU-second: our engine against `ws` with its native
// `bufferutil` (what a production `ws` deployment runs) and against `ws` without it. Each server runs in
// its own process and reports its own CPU time; the load is raw pre-masked frames written by plain TCP
// clients that only count the echoed bytes, so the clients cost little and nothing of theirs is counted.
import { fork, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { median, positiveEnv } from './harness.js';

const CONNECTIONS = 8;
const ROUNDS = 6;
/**
 * Server processes per contender, taken in turn by the rounds (ECHO_PROCESSES). One process's figure
 * depends on where malloc put its read buffers: on AMD Zen a copy whose destination lies just past its
 * source modulo 4 KiB runs many times slower, and one process of the same server echoed 25% slower than
 * the next (docs/benchmarks.md); the median over several processes is the server's, not its luck's.
 */
const PROCESSES = positiveEnv('ECHO_PROCESSES', 3);
/** Longest a round may take before the bench gives up on a server. */
const roundTimeoutMs = 120_000;

interface EchoServer {
  name: string;
  child: ChildProcess;
  port: number;
}

/** One server under test, in `PROCESSES` processes. */
interface Contender {
  name: string;
  processes: EchoServer[];
}

export interface Size {
  label: string;
  bytes: number;
  /** Messages per round, so that a round lasts about a second on a quiet machine. */
  messages: number;
}

const SIZES: Size[] = [
  { label: '64 B', bytes: 64, messages: 40_000 },
  { label: '16 KiB', bytes: 16 * 1024, messages: 24_000 },
  { label: '1 MiB', bytes: 1024 * 1024, messages: 640 },
];

/**
 * Per size: messages per server CPU-second of ours beside ws with bufferutil, ws without, the loopback floor
 * (a server that only reads each frame and writes a ready-made reply), and of ours
 * on its pure-JS masker (SWITCHBOARD_MASKER=js, what every platform without WebAssembly SIMD runs).
 */
export async function benchEchoCpu(sizes: readonly Size[] = SIZES, withoutBufferutil = true): Promise<string[]> {
  const contenders = [
    await startContender('ours', 'ours', {}),
    await startContender('ours-js', 'ours', { SWITCHBOARD_MASKER: 'js' }),
    await startContender('ws+bufferutil', 'ws', {}),
    await startContender('floor', 'floor', {}),
  ];
  if (withoutBufferutil) contenders.push(await startContender('ws', 'ws', { WS_NO_BUFFER_UTIL: '1' }));
  const servers = contenders.flatMap((contender) => contender.processes);
  const lines: string[] = [];
  try {
    for (const size of sizes) {
      const rates = new Map<string, number[]>(contenders.map((contender) => [contender.name, []]));
      const clients = new Map<EchoServer, EchoClient[]>();
      for (const server of servers) clients.set(server, await Promise.all(Array.from({ length: CONNECTIONS }, () => openClient(server.port, size.bytes))));
      for (const server of servers) await echoRound(server, clients.get(server)!, size.messages / 4); // warm-up
      for (let round = 0; round < ROUNDS; round++) {
        // Rotating the order as well as alternating keeps any drift from favouring one server; each round
        // takes each contender's next process.
        for (let k = 0; k < contenders.length; k++) {
          const contender = contenders[(round + k) % contenders.length]!;
          const server = contender.processes[round % contender.processes.length]!;
          rates.get(contender.name)!.push(await echoRound(server, clients.get(server)!, size.messages));
        }
      }
      for (const list of clients.values()) for (const client of list) client.socket.destroy();
      const rate = (name: string): number | undefined => {
        const list = rates.get(name);
        return list === undefined ? undefined : median(list);
      };
      const withBufferutil = rate('ws+bufferutil')!;
      const without = rate('ws');
      const floor = rate('floor')!;
      const line = (label: string, ours: number): string =>
        `echo ${size.label} msgs per server CPU-s${label}`.padEnd(46) +
        ` ours ${formatK(ours)}   ws+bufferutil ${formatK(withBufferutil)} ratio ${(ours / withBufferutil).toFixed(2)}x` +
        (without === undefined ? '' : `   ws ${formatK(without)} ratio ${(ours / without).toFixed(2)}x`) +
        `   loopback floor ${formatK(floor)} ratio ${(ours / floor).toFixed(2)}x`;
      lines.push(line('', rate('ours')!), line(', pure JS', rate('ours-js')!));
    }
  } finally {
    for (const server of servers) server.child.kill();
  }
  return lines;
}

function formatK(rate: number): string {
  return `${(rate / 1000).toFixed(2)}k`.padStart(8);
}

async function startContender(name: string, kind: 'ours' | 'ws' | 'floor', env: Record<string, string>): Promise<Contender> {
  const processes: EchoServer[] = [];
  for (let i = 0; i < PROCESSES; i++) processes.push(await startServer(name, kind, env));
  return { name, processes };
}

async function startServer(name: string, kind: 'ours' | 'ws' | 'floor', env: Record<string, string>): Promise<EchoServer> {
  const script = fileURLToPath(new URL('./servers/echo-server.ts', import.meta.url));
  const child = fork(script, [kind], {
    execArgv: ['--conditions=@switchboard/source', '--import=tsx'],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { port } = (await nextMessage(child)) as { port: number };
  return { name, child, port };
}

/** Messages per server CPU-second over `messages` echoes spread over the connections. */
async function echoRound(server: EchoServer, clients: EchoClient[], messages: number): Promise<number> {
  const before = await serverCpuMicros(server.child);
  const perClient = Math.ceil(messages / clients.length);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${server.name}: echo round not done within ${roundTimeoutMs} ms`)), roundTimeoutMs);
  });
  try {
    await Promise.race([Promise.all(clients.map((client) => client.echo(perClient))), timeout]);
  } finally {
    clearTimeout(timer);
  }
  const cpuSeconds = ((await serverCpuMicros(server.child)) - before) / 1e6;
  return (perClient * clients.length) / cpuSeconds;
}

interface EchoClient {
  socket: Socket;
  /** Sends `count` messages one after another, each after the previous one's echo arrived whole. */
  echo(count: number): Promise<void>;
}

/** A WebSocket client reduced to bytes: a handshake, then one pre-masked frame sent again and again. */
export async function openClient(port: number, payloadBytes: number): Promise<EchoClient> {
  const frame = maskedFrame(payloadBytes);
  const echoBytes = payloadBytes + serverHeaderLength(payloadBytes);
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  socket.write(
    `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve, reject) => {
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`handshake refused: ${head.slice(0, end)}`));
      if (end + 4 !== head.length) return reject(new Error('server sent a frame before any message'));
      resolve();
    };
    socket.on('data', onData).once('error', reject);
  });
  let received = 0;
  let remaining = 0;
  let done: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    while (received >= echoBytes) {
      received -= echoBytes;
      if (--remaining > 0) socket.write(frame);
      else done?.();
    }
  });
  return {
    socket,
    echo: (count) =>
      new Promise<void>((resolve) => {
        remaining = count;
        done = resolve;
        socket.write(frame);
      }),
  };
}

/** One binary frame as a client sends it (RFC 6455 §5.2), masked with a key that has no zero byte. */
function maskedFrame(payloadBytes: number): Buffer {
  const lengthBytes = payloadBytes < 126 ? 0 : payloadBytes < 0x10000 ? 2 : 8;
  const header = Buffer.alloc(2 + lengthBytes + 4);
  header[0] = 0x82;
  if (lengthBytes === 0) header[1] = 0x80 | payloadBytes;
  else if (lengthBytes === 2) {
    header[1] = 0x80 | 126;
    header.writeUInt16BE(payloadBytes, 2);
  } else {
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(BigInt(payloadBytes), 2);
  }
  const key = [0x37, 0xfa, 0x21, 0x3d];
  header.set(key, 2 + lengthBytes);
  const payload = Buffer.alloc(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) payload[i] = ((i * 31 + 7) & 0xff) ^ key[i & 3]!;
  return Buffer.concat([header, payload]);
}

function serverHeaderLength(payloadBytes: number): number {
  return payloadBytes < 126 ? 2 : payloadBytes < 0x10000 ? 4 : 10;
}

async function serverCpuMicros(child: ChildProcess): Promise<number> {
  const reply = nextMessage(child);
  child.send('cpu');
  return ((await reply) as { cpuMicros: number }).cpuMicros;
}

function nextMessage(child: ChildProcess): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`echo server exited with ${code}`));
    child.once('exit', onExit);
    child.once('message', (message) => {
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

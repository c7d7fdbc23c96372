// The broker behind each reverse proxy people put in front of a WebSocket service: nginx, Apache httpd with
// mod_proxy_wstunnel and with mod_proxy_http (upgrade=websocket), and lighttpd's mod_proxy with upgrade
// enabled (its mod_wstunnel terminates WebSocket itself and forwards raw bytes, so it cannot front a
// WebSocket server). Our core client speaks pubsub.v1 through each: a subscribe/publish round trip, small
// and large, then a clean close. The broker runs as its CLI (`switchboard`) from source, in its own process.
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type WebSocket } from '../../src/index.js';
import { closed, opened } from '../helpers/events.js';
import { spawn } from 'node:child_process';
import { start, type StartedProcess } from '../helpers/processes.js';
import { recordProxyRow, type ProxyCheck } from './matrix.js';

const brokerRoot = fileURLToPath(new URL('../../../broker/', import.meta.url));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

interface Proxy {
  name: string;
  /** Writes the config into `dir` and returns the command that runs the proxy in the foreground. */
  configure(dir: string, listen: number, broker: number): { command: string; args: string[] };
}

const apacheBase = (dir: string, listen: number, modules: string[], lines: string[]): string =>
  [
    `ServerRoot ${dir}`,
    'ServerName localhost',
    `Listen 127.0.0.1:${listen}`,
    `PidFile ${dir}/httpd.pid`,
    `ErrorLog ${dir}/error.log`,
    'LogLevel warn',
    `DefaultRuntimeDir ${dir}`,
    'Mutex posixsem',
    ...['mpm_event', 'authz_core', 'proxy', ...modules].map((module) => `LoadModule ${module}_module /usr/lib/apache2/modules/mod_${module}.so`),
    // As root, Apache hands its workers to this user; proxying needs no file access.
    'User nobody',
    'Group nogroup',
    ...lines,
    '',
  ].join('\n');

const proxies: Proxy[] = [
  {
    name: 'nginx',
    configure: (dir, listen, broker) => {
      writeFileSync(
        join(dir, 'nginx.conf'),
        [
          'worker_processes 1;',
          ...(process.getuid?.() === 0 ? ['user root;'] : []),
          `pid ${dir}/nginx.pid;`,
          `error_log ${dir}/error.log warn;`,
          'events { worker_connections 64; }',
          'http {',
          `  access_log off;`,
          ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${dir}/${kind}_temp;`),
          `  server { listen 127.0.0.1:${listen};`,
          '    location /ws {',
          `      proxy_pass http://127.0.0.1:${broker};`,
          // nginx's documented WebSocket proxying: HTTP/1.1 upstream and the hop-by-hop headers passed on.
          '      proxy_http_version 1.1;',
          '      proxy_set_header Upgrade $http_upgrade;',
          '      proxy_set_header Connection "upgrade";',
          '      proxy_set_header Host $host;',
          '      proxy_read_timeout 1h;',
          '    }',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      return { command: '/usr/sbin/nginx', args: ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'] };
    },
  },
  {
    name: 'Apache httpd mod_proxy_wstunnel',
    configure: (dir, listen, broker) => {
      writeFileSync(
        join(dir, 'httpd.conf'),
        apacheBase(dir, listen, ['proxy_http', 'proxy_wstunnel'], [
          // Since 2.4.47 wstunnel hands upgrades to mod_proxy_http unless told not to: this row is wstunnel's own.
          'ProxyWebsocketFallbackToProxyHttp Off',
          `ProxyPass /ws ws://127.0.0.1:${broker}/ws`,
        ]),
      );
      return { command: '/usr/sbin/apache2', args: ['-f', join(dir, 'httpd.conf'), '-DFOREGROUND'] };
    },
  },
  {
    name: 'Apache httpd mod_proxy_http upgrade=websocket',
    configure: (dir, listen, broker) => {
      writeFileSync(join(dir, 'httpd.conf'), apacheBase(dir, listen, ['proxy_http'], [`ProxyPass /ws http://127.0.0.1:${broker}/ws upgrade=websocket`]));
      return { command: '/usr/sbin/apache2', args: ['-f', join(dir, 'httpd.conf'), '-DFOREGROUND'] };
    },
  },
  {
    name: 'lighttpd mod_proxy (upgrade enabled)',
    configure: (dir, listen, broker) => {
      writeFileSync(
        join(dir, 'lighttpd.conf'),
        [
          `server.document-root = "${dir}"`,
          'server.bind = "127.0.0.1"',
          `server.port = ${listen}`,
          `server.errorlog = "${dir}/error.log"`,
          'server.modules = ("mod_proxy")',
          `proxy.server = ("/ws" => (("host" => "127.0.0.1", "port" => ${broker})))`,
          'proxy.header = ("upgrade" => "enable")',
          '',
        ].join('\n'),
      );
      return { command: '/usr/sbin/lighttpd', args: ['-D', '-f', join(dir, 'lighttpd.conf')] };
    },
  },
];

interface Json {
  op: string;
  [key: string]: unknown;
}

/** A pubsub.v1 connection through `url`, its JSON messages queued. */
async function pubsub(url: string): Promise<{ ws: WebSocket; next(op: string): Promise<Json> }> {
  const ws = connect(url, { protocols: ['pubsub.v1'] });
  const inbox: Json[] = [];
  const waiters: { op: string; resolve(message: Json): void }[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) return;
    const message = JSON.parse(data as string) as Json;
    const index = waiters.findIndex((waiter) => waiter.op === message.op);
    if (index === -1) inbox.push(message);
    else waiters.splice(index, 1)[0]!.resolve(message);
  });
  await opened(ws);
  const next = (op: string): Promise<Json> => {
    const index = inbox.findIndex((message) => message.op === op);
    if (index !== -1) return Promise.resolve(inbox.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${op} within 10 s`)), 10_000);
      waiters.push({
        op,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      });
    });
  };
  return { ws, next };
}

async function startBroker(t: Test): Promise<{ port: number; process: StartedProcess }> {
  const port = await freePort();
  const broker = await start(process.execPath, ['--conditions=@switchboard/source', '--import=tsx', 'src/cli.ts'], /switchboard broker listening/, {
    cwd: brokerRoot,
    // The endpoint's path is set here, not left to the broker's default, so the proxies' /ws locations match.
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), WS_PATH: '/ws', NODE_NAME: 'proxied', LOG_LEVEL: 'info', PUBLISH_RATE: '0' },
    timeoutMs: 60_000,
  });
  t.teardown(() => broker.stop());
  return { port, process: broker };
}

async function startProxy(t: Test, proxy: Proxy, brokerPort: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-proxy-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const { command, args } = proxy.configure(dir, port, brokerPort);
  const errorLog = (): string => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  // None of them announces readiness on stdout: the child starts, then its port answers.
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.on('error', (error) => (output += `could not start ${command}: ${error.message}`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null || output.includes('could not start')) throw new Error(`${proxy.name} exited: ${output}\n${errorLog()}`);
    // Any HTTP answer will do: mod_proxy_wstunnel's ws:// ProxyPass forwards upgrade requests only.
    const answered = await fetch(`http://127.0.0.1:${port}/ws`).then(
      () => true,
      () => false,
    );
    if (answered) return port;
    if (Date.now() > deadline) throw new Error(`${proxy.name} did not answer HTTP within 20 s:\n${errorLog()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('the broker behind reverse proxies', async (t) => {
  const broker = await startBroker(t);
  for (const proxy of proxies) {
    await t.test(proxy.name, async (t) => {
      const port = await startProxy(t, proxy, broker.port);
      const url = `ws://127.0.0.1:${port}/ws`;
      const checks: Partial<Record<ProxyCheck, boolean>> = {};
      const subscriber = await pubsub(url);
      const publisher = await pubsub(url);
      checks.handshake = subscriber.ws.protocol === 'pubsub.v1' && (await subscriber.next('welcome')).op === 'welcome';
      subscriber.ws.send(JSON.stringify({ op: 'subscribe', id: 1, pattern: 'proxied.*' }));
      checks.subscribe = (await subscriber.next('subscribed')).id === 1;
      for (const [check, data] of [
        ['round-trip', 'through the proxy'],
        // The frame is over 65535 bytes (a 64-bit length) while the data stays within chunkBytes (65536), so
        // the broker sends it as one delivery, not as pubsub.v1 chunks.
        ['round-trip-64KiB', 'x'.repeat(65_500)],
      ] as const) {
        publisher.ws.send(JSON.stringify({ op: 'publish', id: 2, topic: 'proxied.check', priority: 'normal', data }));
        const [ack, delivery] = await Promise.all([publisher.next('published'), subscriber.next('message')]).catch((error: Error) => {
          t.comment(`${check}: ${error.message}`);
          return [undefined, undefined];
        });
        checks[check] = ack?.id === 2 && delivery?.topic === 'proxied.check' && delivery.data === data;
      }
      const closing = closed(subscriber.ws);
      subscriber.ws.close(1000, 'done');
      const event = await closing;
      checks['clean-close'] = event.code === 1000 && event.wasClean;
      publisher.ws.close(1000);
      await closed(publisher.ws);
      recordProxyRow(t, { proxy: proxy.name, checks });
    });
  }
});

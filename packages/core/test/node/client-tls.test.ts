// connect() over wss://: TLS through node:https, with the server's certificate trusted by the test, and a
// client certificate presented to a server that requires one.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type ServerOptions, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { type ConnectOptions, connect, handleUpgrade } from '../../src/index.js';
import { MessageQueue, closed, opened } from '../helpers/events.js';

/** Every process warning since the file started (DEP0123 would be emitted once, at the first IP connection). */
const warnings: string[] = [];
process.on('warning', (warning: Error & { code?: string }) => warnings.push(`${warning.code ?? warning.name}: ${warning.message}`));

/** A self-signed certificate made by openssl (which must be installed: the test fails, never skips). */
function selfSignedCertificate(commonName = 'localhost', subjectAltName = 'IP:127.0.0.1,DNS:localhost'): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${subjectAltName}`,
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('openssl is not installed (scripts/ensure-system-packages.sh installs it)');
    throw error;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Echoes `tls:<text>` on pubsub.v1 connections; the upgrade sees the TLS socket (its client certificate). */
async function echoServer(t: Test, options: ServerOptions): Promise<{ port: number; clientNames: string[] }> {
  const server = createServer(options);
  const clientNames: string[] = [];
  server.on('upgrade', (request, socket, head) => {
    clientNames.push(String((socket as TLSSocket).getPeerCertificate().subject?.CN ?? ''));
    const websocket = handleUpgrade(request, socket, head, { protocols: ['pubsub.v1'] });
    websocket?.on('message', (data, isBinary) => websocket.send(isBinary ? (data as Buffer) : `tls:${data as string}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, clientNames };
}

/** Opens `url`, sends one text and expects the echo, closes. */
async function echoOnce(t: Test, url: string, tls: NonNullable<ConnectOptions['tls']>): Promise<void> {
  const client = connect(url, { protocols: ['pubsub.v1'], tls });
  const messages = new MessageQueue(client);
  await opened(client);
  client.send('hello');
  t.same(await messages.next(), { data: 'tls:hello', isBinary: false }, `${url}: echoed`);
  client.close(1000);
  t.same(await closed(client), { code: 1000, reason: '', wasClean: true });
}

t.test('our client over wss:// to our server behind node:https', async (t) => {
  const { key, cert } = selfSignedCertificate();
  const server = createServer({ key, cert });
  server.on('upgrade', (request, socket, head) => {
    const websocket = handleUpgrade(request, socket, head, { protocols: ['pubsub.v1'] });
    websocket?.on('message', (data, isBinary) => websocket.send(isBinary ? (data as Buffer) : `tls:${data as string}`));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;

  await t.test('a trusted certificate: the connection opens and echoes', async (t) => {
    const client = connect(`wss://127.0.0.1:${port}/`, { protocols: ['pubsub.v1'], tls: { ca: cert } });
    const messages = new MessageQueue(client);
    await opened(client);
    t.equal(client.protocol, 'pubsub.v1');
    client.send('secret');
    t.same(await messages.next(), { data: 'tls:secret', isBinary: false });
    client.close(1000);
    t.same(await closed(client), { code: 1000, reason: '', wasClean: true });
  });

  await t.test('an untrusted certificate: error, then close 1006', async (t) => {
    const client = connect(`wss://127.0.0.1:${port}/`);
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.code));
    const event = await closed(client);
    t.equal(event.code, 1006);
    t.same(errors, ['ERR_WS_CONNECTION_RESET']);
  });
});

t.test('by IP address no SNI is sent (RFC 6066 §3: no DEP0123 warning); by host name it is, and the name is checked', async (t) => {
  const { key, cert } = selfSignedCertificate();
  const { port } = await echoServer(t, { key, cert });
  await echoOnce(t, `wss://127.0.0.1:${port}/`, { ca: cert });
  await echoOnce(t, `wss://localhost:${port}/`, { ca: cert });
  // Warnings are emitted on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  t.same(warnings, [], 'no warning (in this whole file: Node warns once per process)');

  const other = selfSignedCertificate('elsewhere', 'DNS:elsewhere.test');
  const { port: otherPort } = await echoServer(t, other);
  const mismatch = connect(`wss://localhost:${otherPort}/`, { protocols: ['pubsub.v1'], tls: { ca: other.cert } });
  const errors: string[] = [];
  mismatch.on('error', (error) => errors.push(error.code));
  t.equal((await closed(mismatch)).code, 1006, 'a certificate for another name is refused');
  t.same(errors, ['ERR_WS_CONNECTION_RESET']);
  await echoOnce(t, `wss://127.0.0.1:${otherPort}/`, { ca: other.cert, servername: 'elsewhere.test' });
});

t.test('a client certificate: presented with tls.cert and tls.key; a server that requires one refuses a client without', async (t) => {
  const server = selfSignedCertificate();
  const client = selfSignedCertificate('client-one', 'DNS:client-one.test');
  const { port, clientNames } = await echoServer(t, { ...server, ca: client.cert, requestCert: true, rejectUnauthorized: true });

  await echoOnce(t, `wss://127.0.0.1:${port}/`, { ca: server.cert, cert: client.cert, key: Buffer.from(client.key) });
  t.same(clientNames, ['client-one'], 'the server saw the client certificate');

  const anonymous = connect(`wss://127.0.0.1:${port}/`, { protocols: ['pubsub.v1'], tls: { ca: server.cert } });
  let opens = 0;
  anonymous.on('open', () => opens++);
  const errors: string[] = [];
  anonymous.on('error', (error) => errors.push(error.code));
  t.equal((await closed(anonymous)).code, 1006, 'refused during the TLS handshake');
  t.equal(opens, 0, 'never opened');
  t.same(errors, ['ERR_WS_CONNECTION_RESET']);
  t.same(clientNames, ['client-one'], 'no upgrade reached the server');
});

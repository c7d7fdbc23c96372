// connect() over wss://: TLS through node:https, with the server's certificate trusted by the test.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, handleUpgrade } from '../../src/index.js';
import { MessageQueue, closed, opened } from '../helpers/events.js';

function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

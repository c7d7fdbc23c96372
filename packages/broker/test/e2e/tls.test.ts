import { type Client, type StateChange, createClient } from '@switchboard/client';
import { connect } from '@switchboard/core';
import type { DeliveryMessage } from '@switchboard/protocol';
import { copyFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { ConfigError } from '../../src/config/config-error.js';
import { createConfig } from '../../src/config/config.js';
import { startServer } from '../../src/server.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { type TestBroker, startBroker } from '../helpers/start-broker.js';
import { type TestCertificate, makeTestPki } from '../helpers/test-certificates.js';

/**
 * The broker serving wss:// and https:// itself (TLS_CERT, TLS_KEY), in process on a loopback port:
 * core's client and the SDK trust the test's CA and exchange messages; /healthz answers over https; with
 * TLS_CA a client without a certificate that CA signed is refused in the TLS handshake, before any HTTP.
 * The reload on SIGHUP runs against a real process in tls-reload.test.ts.
 */

const pki = makeTestPki(t);
const waitMs = 10_000;

interface TlsBroker extends TestBroker {
  readonly wssUrl: string;
  readonly httpsUrl: string;
}

async function startTlsBroker(t: Test, mutual = false): Promise<TlsBroker> {
  const broker = await startBroker(t, { tlsCert: pki.server.certPath, tlsKey: pki.server.keyPath, ...(mutual ? { tlsCa: pki.ca.certPath } : {}) });
  return { ...broker, wssUrl: `wss://127.0.0.1:${broker.port}/`, httpsUrl: `https://127.0.0.1:${broker.port}` };
}

/** A GET over https with `tls` options: the status and body, or the error's code. */
function httpsGet(url: string, tls: { ca?: string; cert?: string; key?: string }): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const outgoing = request(url, { ...tls, agent: false, timeout: waitMs }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timeout')));
    outgoing.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    outgoing.end();
  });
}

/** The certificate a fresh TLS connection (no session resumed) is shown, by SHA-256 fingerprint. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.setTimeout(waitMs, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

/** An SDK client that reaches `connected`, closed at teardown. */
async function connectedClient(t: Test, url: string, tls: { ca?: string; cert?: string; key?: Buffer | string }): Promise<Client> {
  const client = createClient({ url, tls, reconnect: false });
  t.teardown(() => client.close());
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the SDK did not connect in time')), waitMs);
    client.on('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.on('state', (change: StateChange) => {
      if (change.state === 'closed') reject(new Error(`the SDK closed: ${change.error?.message ?? change.reason}`));
    });
  });
  return client;
}

/** An SDK client whose only attempt must fail: resolves with the state change that ended it. */
function failedClient(t: Test, url: string, tls: { ca?: string; cert?: string; key?: string }): Promise<StateChange> {
  const client = createClient({ url, tls, reconnect: false });
  t.teardown(() => client.close());
  client.on('connected', () => t.fail('the SDK connected'));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the SDK attempt did not end in time')), waitMs);
    client.on('state', (change: StateChange) => {
      if (change.state !== 'closed') return;
      clearTimeout(timer);
      resolve(change);
    });
  });
}

/** A core client attempt that must fail: whether it ever opened, and its close code. */
async function refusedCore(url: string, tls: { ca?: string; cert?: string; key?: string }): Promise<{ opened: boolean; code: number; errors: string[] }> {
  const ws = connect(url, { protocols: ['pubsub.v1'], tls, handshakeTimeout: waitMs });
  let opened = false;
  const errors: string[] = [];
  ws.on('open', () => (opened = true));
  ws.on('error', (error) => errors.push(error.code));
  const code = await new Promise<number>((resolve) => ws.once('close', (closeCode) => resolve(closeCode)));
  return { opened, code, errors };
}

t.test('TLS_CERT and TLS_KEY: wss:// and https:// on the one port', async (t) => {
  const broker = await startTlsBroker(t);
  t.equal(await servedFingerprint(broker.port, pki.ca.cert), pki.server.fingerprint256, 'the configured certificate is served');

  await t.test('GET /healthz over https, trusting the CA', async (t) => {
    const answer = await httpsGet(`${broker.httpsUrl}/healthz`, { ca: pki.ca.cert });
    t.match(answer, { status: 200 });
    t.match('body' in answer ? JSON.parse(answer.body) : {}, { status: 'ok', node: 'test-node' });
  });

  await t.test('core client: trusts the CA, exchanges messages over wss://', async (t) => {
    const subscriber = await Peer.open(broker.wssUrl, { tls: { ca: pki.ca.cert } });
    t.teardown(() => subscriber.ws.terminate());
    const publisher = await Peer.open(broker.wssUrl, { tls: { ca: pki.ca.cert } });
    t.teardown(() => publisher.ws.terminate());
    t.equal(subscriber.welcome.node, 'test-node');
    t.match(await subscriber.subscribe('secure.*'), { op: 'subscribed' });
    t.match(await publisher.publish('secure.core', { over: 'tls' }), { op: 'published' });
    const [delivery] = (await subscriber.waitForDeliveries(1)) as [DeliveryMessage];
    t.match(delivery, { topic: 'secure.core', data: { over: 'tls' } });
  });

  await t.test('the SDK (Node): tls.ca trusts the CA; publishes and receives', async (t) => {
    const client = await connectedClient(t, broker.wssUrl, { ca: pki.ca.cert });
    const received: unknown[] = [];
    await client.subscribe('secure.sdk', (message) => received.push(message.data));
    t.match(await client.publish('secure.sdk', { from: 'sdk' }), { topic: 'secure.sdk', duplicate: false });
    const deadline = Date.now() + waitMs;
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    t.same(received, [{ from: 'sdk' }]);
  });

  await t.test('without the CA the certificate is not trusted: refused, no connection', async (t) => {
    t.match(await refusedCore(broker.wssUrl, {}), { opened: false, code: 1006, errors: ['ERR_WS_CONNECTION_RESET'] });
    t.match(await httpsGet(`${broker.httpsUrl}/healthz`, {}), { error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    const ended = await failedClient(t, broker.wssUrl, {});
    t.equal(ended.closeCode, 1006);
  });

  await t.test('plain ws:// to the TLS port gets no WebSocket', async (t) => {
    const result = await refusedCore(`ws://127.0.0.1:${broker.port}/`, {});
    t.equal(result.opened, false);
    t.equal(result.code, 1006);
  });
});

t.test('TLS_CA: mutual TLS, a client certificate the CA signed is required', async (t) => {
  const broker = await startTlsBroker(t, true);
  const withCertificate = (client: TestCertificate) => ({ ca: pki.ca.cert, cert: client.cert, key: client.key });

  await t.test('with the client certificate: https, core and the SDK are served', async (t) => {
    t.match(await httpsGet(`${broker.httpsUrl}/healthz`, withCertificate(pki.client)), { status: 200 });
    const peer = await Peer.open(broker.wssUrl, { tls: withCertificate(pki.client) });
    t.teardown(() => peer.ws.terminate());
    t.match(await peer.subscribe('mutual.>'), { op: 'subscribed' });
    // The key as bytes, as readFileSync returns it.
    const client = await connectedClient(t, broker.wssUrl, { ca: pki.ca.cert, cert: pki.client.cert, key: Buffer.from(pki.client.key) });
    t.match(await client.publish('mutual.sdk', 'hello'), { topic: 'mutual.sdk' });
    const [delivery] = (await peer.waitForDeliveries(1)) as [DeliveryMessage];
    t.match(delivery, { topic: 'mutual.sdk', data: 'hello' });
  });

  await t.test('without a client certificate: refused in the TLS handshake (core, the SDK, https)', async (t) => {
    const opened = broker.broker.stats.connectionsOpened;
    const core = await refusedCore(broker.wssUrl, { ca: pki.ca.cert });
    t.match(core, { opened: false, code: 1006, errors: ['ERR_WS_CONNECTION_RESET'] });
    t.equal((await failedClient(t, broker.wssUrl, { ca: pki.ca.cert })).closeCode, 1006);
    t.match(await httpsGet(`${broker.httpsUrl}/healthz`, { ca: pki.ca.cert }), { error: /^(ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED|ECONNRESET)$/ });
    t.equal(broker.broker.stats.connectionsOpened, opened, 'no WebSocket session was opened');
    t.same([...broker.broker.stats.handshakeRejections], [], 'no upgrade request reached the broker');
  });

  await t.test('with a certificate another CA signed: refused', async (t) => {
    t.match(await refusedCore(broker.wssUrl, withCertificate(pki.strangerClient)), { opened: false, code: 1006 });
    t.match(await httpsGet(`${broker.httpsUrl}/healthz`, withCertificate(pki.strangerClient)), { error: /^(ERR_SSL_TLSV1_ALERT_UNKNOWN_CA|ECONNRESET)$/ });
  });
});

t.test('buildApp refuses a key that is not the certificate\'s before starting anything', async (t) => {
  const config = createConfig({ logLevel: 'silent', port: 0, tlsCert: pki.server.certPath, tlsKey: pki.server2.keyPath });
  await t.rejects(buildApp(config), ConfigError);
  await t.rejects(buildApp(config), { field: 'TLS_KEY (--tls-key)', message: /is not the key of the certificate/ });
});

t.test('startServer: a wss:// url, and reloadTls() (what SIGHUP calls) in process', async (t) => {
  const live = { cert: join(pki.dir, 'in-process-cert.pem'), key: join(pki.dir, 'in-process-key.pem') };
  copyFileSync(pki.server.certPath, live.cert);
  copyFileSync(pki.server.keyPath, live.key);
  const quiet = { logLevel: 'silent', host: '127.0.0.1', port: 0, shutdownDrainMs: 0, shutdownSpreadMs: 0 } as const;
  const running = await startServer(createConfig({ ...quiet, tlsCert: live.cert, tlsKey: live.key }), {}, { handleSignals: false });
  t.teardown(() => running.stop());
  t.equal(running.url, `wss://127.0.0.1:${running.address.port}/`);
  copyFileSync(pki.server2.certPath, live.cert);
  copyFileSync(pki.server2.keyPath, live.key);
  t.equal(running.reloadTls(), true, 'new files: served');
  t.equal(await servedFingerprint(running.address.port, pki.ca.cert), pki.server2.fingerprint256);
  writeFileSync(live.cert, 'not a certificate');
  t.equal(running.reloadTls(), false, 'a bad file: refused');
  t.equal(await servedFingerprint(running.address.port, pki.ca.cert), pki.server2.fingerprint256, 'the certificate in use stays');

  const plain = await startServer(createConfig(quiet), {}, { handleSignals: false });
  t.teardown(() => plain.stop());
  t.equal(plain.url, `ws://127.0.0.1:${plain.address.port}/`);
  t.equal(plain.reloadTls(), false, 'without TLS there is nothing to reload');
});

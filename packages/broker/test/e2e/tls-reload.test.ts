import { type Client, createClient } from '@switchboard/client';
import type { DeliveryMessage } from '@switchboard/protocol';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import t, { type Test } from 'tap';
import { Peer } from '../helpers/pubsub-peer.js';
import { eventually } from '../helpers/start-broker.js';
import { type SwitchboardProcess, runSwitchboard } from '../helpers/switchboard-process.js';
import { type TestCertificate, makeTestPki } from '../helpers/test-certificates.js';

/**
 * A real `switchboard` process serving TLS, sent SIGHUP after its certificate files were replaced: new
 * connections get the new certificate while connections opened before keep exchanging messages; a bad new
 * certificate is refused with a log line and the one in use stays. Bad files at startup stop it with exit
 * code 2 naming the option. Loopback only, a port the broker picks and logs, every wait bounded.
 */

const pki = makeTestPki(t);
const waitMs = 30_000;
const livePaths = { cert: join(pki.dir, 'live-cert.pem'), key: join(pki.dir, 'live-key.pem') };

/** Puts `certificate` (and its key, or `keyFrom`'s) where the broker's TLS_CERT and TLS_KEY point. */
function install(certificate: TestCertificate, keyFrom: TestCertificate = certificate): void {
  copyFileSync(keyFrom.keyPath, livePaths.key);
  copyFileSync(certificate.certPath, livePaths.cert);
}

/** Starts the broker on a port it picks; resolves with the process and the port from its "listening" line. */
async function startTlsSwitchboard(t: Test): Promise<{ broker: SwitchboardProcess; port: number }> {
  const broker = runSwitchboard(
    ['--host', '127.0.0.1', '--port', '0', '--node-name', 'tls-node', '--shutdown-drain', '0', '--shutdown-spread', '0'],
    { TLS_CERT: livePaths.cert, TLS_KEY: livePaths.key },
  );
  t.teardown(() => {
    if (broker.process.exitCode === null && broker.process.signalCode === null) broker.process.kill('SIGKILL');
  });
  await eventually(() => broker.output().includes('switchboard broker listening') || broker.process.exitCode !== null, waitMs, 'the broker listening');
  const url = /"url":"wss:\/\/127\.0\.0\.1:(\d+)\/"/.exec(broker.output());
  if (url === null) throw new Error(`no wss:// listening line; output:\n${broker.output()}`);
  return { broker, port: Number(url[1]) };
}

/** The log lines whose `msg` is `message`, parsed. */
function logLines(broker: SwitchboardProcess, message: string): Record<string, unknown>[] {
  return broker
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line['msg'] === message);
}

/** Sends SIGHUP and waits for the `count`-th line `message` (reloaded or refused). */
async function sighup(broker: SwitchboardProcess, message: string, count: number): Promise<Record<string, unknown>> {
  broker.process.kill('SIGHUP');
  await eventually(() => logLines(broker, message).length >= count, waitMs, `log line ${count} "${message}"`);
  return logLines(broker, message)[count - 1] as Record<string, unknown>;
}

/** The certificate a fresh TLS connection (no session resumed) is shown, by SHA-256 fingerprint. */
function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca: pki.ca.cert, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.setTimeout(waitMs, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.on('error', reject);
  });
}

/** Publishes from `from` and checks that each of `to` receives it (the SDK's inbox or a peer's deliveries). */
async function exchange(t: Test, from: Client | Peer, topic: string, sdkInbox: unknown[], peers: readonly Peer[]): Promise<void> {
  const data = { topic, at: sdkInbox.length };
  const inboxBefore = sdkInbox.length;
  const peerBefore = peers.map((peer) => peer.deliveries.length);
  if (from instanceof Peer) t.match(await from.publish(topic, data), { op: 'published' }, `${topic}: published by a core peer`);
  else t.match(await from.publish(topic, data), { topic }, `${topic}: published by the SDK`);
  await eventually(() => sdkInbox.length > inboxBefore, waitMs, `${topic}: the SDK client receives it`);
  t.same(sdkInbox.at(-1), data, `${topic}: the SDK client (connected before every reload) received it`);
  for (const [index, peer] of peers.entries()) {
    const [delivery] = (await peer.waitForDeliveries((peerBefore[index] ?? 0) + 1)).slice(-1) as [DeliveryMessage];
    t.match(delivery, { topic, data }, `${topic}: peer ${index + 1} received it`);
  }
}

t.test('SIGHUP: new certificate for new connections, open ones keep going; a bad one is refused', async (t) => {
  install(pki.server);
  const { broker, port } = await startTlsSwitchboard(t);
  t.same(logLines(broker, 'tls enabled').map((line) => (line['certificate'] as { serial: string }).serial), [pki.server.serial], 'startup logs the certificate served');
  t.equal(await servedFingerprint(port), pki.server.fingerprint256, 'before: the first certificate');
  const url = `wss://127.0.0.1:${port}/`;

  // Connections opened before any reload: the SDK, and a core peer.
  const sdk = createClient({ url, tls: { ca: pki.ca.cert }, reconnect: false });
  t.teardown(() => sdk.close());
  let connects = 0;
  sdk.on('connected', () => connects++);
  const inbox: unknown[] = [];
  await sdk.subscribe('reload.>', (message) => inbox.push(message.data));
  const oldPeer = await Peer.open(url, { tls: { ca: pki.ca.cert } });
  t.teardown(() => oldPeer.ws.terminate());
  t.match(await oldPeer.subscribe('reload.>'), { op: 'subscribed' });
  await exchange(t, oldPeer, 'reload.before', inbox, [oldPeer]);

  await t.test('a renewed certificate: reloaded, served to new connections', async (t) => {
    install(pki.server2);
    const reloaded = await sighup(broker, 'tls certificate reloaded', 1);
    t.match(reloaded, { level: 30, certificate: { serial: pki.server2.serial, fingerprint256: pki.server2.fingerprint256 } }, 'logged with the new serial');
    t.equal(await servedFingerprint(port), pki.server2.fingerprint256, 'a new TLS connection sees the new certificate');
    const newPeer = await Peer.open(url, { tls: { ca: pki.ca.cert } });
    t.teardown(() => newPeer.ws.terminate());
    t.match(await newPeer.subscribe('reload.>'), { op: 'subscribed' });
    await exchange(t, newPeer, 'reload.new-to-old', inbox, [oldPeer, newPeer]);
    await exchange(t, sdk, 'reload.old-to-new', inbox, [oldPeer, newPeer]);
    await exchange(t, oldPeer, 'reload.old-peer', inbox, [oldPeer, newPeer]);
    t.equal(sdk.state, 'connected');
    t.equal(connects, 1, 'the SDK never reconnected');
  });

  await t.test('a bad new certificate: refused with a log line naming the option; the one in use stays', async (t) => {
    const refusals: [string, () => void, RegExp][] = [
      ['not PEM', () => writeFileSync(livePaths.cert, 'half-written renewal'), /TLS_CERT \(--tls-cert\): .*live-cert\.pem holds no PEM certificate/],
      ['the key of another certificate', () => install(pki.server2, pki.server), /TLS_KEY \(--tls-key\): .*live-key\.pem is not the key of the certificate/],
      ['an empty key file', () => writeFileSync(livePaths.key, ''), /TLS_KEY \(--tls-key\): .*live-key\.pem is not a PEM private key/],
      ['a key file that is gone', () => rmSync(livePaths.key), /TLS_KEY \(--tls-key\): cannot read .*live-key\.pem \(ENOENT\)/],
    ];
    for (const [index, [what, spoil, reason]] of refusals.entries()) {
      spoil();
      const refused = await sighup(broker, 'tls reload refused: the certificate in use stays', index + 1);
      t.match(refused, { level: 50, reason }, `${what}: refused, logged at error level`);
      t.equal(await servedFingerprint(port), pki.server2.fingerprint256, `${what}: the certificate in use stays`);
    }
    const latePeer = await Peer.open(url, { tls: { ca: pki.ca.cert } });
    t.teardown(() => latePeer.ws.terminate());
    t.match(await latePeer.subscribe('reload.>'), { op: 'subscribed' }, 'new connections are still served');
    await exchange(t, latePeer, 'reload.after-refusals', inbox, [oldPeer, latePeer]);
    t.equal(connects, 1, 'the SDK never reconnected');
    t.equal(logLines(broker, 'tls certificate reloaded').length, 1, 'only the good reload was applied');
    const keyLines = [pki.server.key, pki.server2.key].flatMap((key) => key.split('\n').filter((line) => line.length > 20 && !line.startsWith('-----')));
    t.notOk(keyLines.some((line) => broker.output().includes(line)), 'no key material in the output');
  });

  await t.test('SIGTERM still shuts down gracefully (exit 0)', async (t) => {
    broker.process.kill('SIGTERM');
    t.equal(await broker.exited, 0);
  });
});

t.test('bad files at startup: exit code 2, the option named, nothing served', async (t) => {
  install(pki.server, pki.server2);
  const broker = runSwitchboard(['--host', '127.0.0.1', '--port', '0'], { TLS_CERT: livePaths.cert, TLS_KEY: livePaths.key });
  t.teardown(() => broker.process.kill('SIGKILL'));
  t.equal(await broker.exited, 2);
  t.match(broker.output(), /switchboard: invalid configuration: TLS_KEY \(--tls-key\): .*live-key\.pem is not the key of the certificate in .*live-cert\.pem/);
  t.notMatch(broker.output(), /listening/);
});

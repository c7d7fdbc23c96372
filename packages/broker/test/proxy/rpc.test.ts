import { type Client, createClient } from '@switchboard/client';
import t from 'tap';
import type { ConfigInput } from '../../src/config/config.js';
import { ProxyBackend } from '../helpers/proxy-backend.js';
import { Peer } from '../helpers/pubsub-peer.js';
import { type TestBroker, startBroker } from '../helpers/start-broker.js';

/**
 * RPC (protocol.md §15) through the SDK's typed `client.rpc`, answered by a real backend on a loopback port:
 * a round trip, a refusal with the backend's code, the broker's `unavailable` when the backend hangs past
 * PROXY_TIMEOUT, and the SDK's own `timeout`.
 */

interface Teardown {
  teardown(fn: () => unknown): void;
}

interface Methods {
  'cart.add': { data: { sku: string; quantity: number }; result: { items: number; by: string } };
  'cart.clear': { data: null; result: null };
  'slow.op': { data: null; result: null };
}

async function rpcBackend(t: Teardown): Promise<ProxyBackend> {
  const backend = await ProxyBackend.start(t);
  backend.on('/connect', (body) => ({ json: { user: (body['cookies'] as Record<string, string>)['session'] ?? 'nobody' } }));
  backend.on('/rpc', (body) => {
    const data = body['data'] as { quantity?: number } | null;
    if (body['method'] === 'cart.add') return { json: { data: { items: data?.quantity ?? 0, by: body['user'] } } };
    if (body['method'] === 'slow.op') return 'hang';
    return { json: { refuse: { code: 'forbidden', reason: `${String(body['method'])} is not yours` } } };
  });
  return backend;
}

function rpcBroker(t: Teardown, backend: ProxyBackend, overrides: ConfigInput = {}): Promise<TestBroker> {
  return startBroker(t, { proxyConnectUrl: backend.endpoint('/connect'), proxyRpcUrl: backend.endpoint('/rpc'), ...overrides });
}

async function sdk(t: Teardown, broker: TestBroker): Promise<Client<Record<string, unknown>, unknown, Methods>> {
  const client = createClient<Record<string, unknown>, unknown, Methods>({ url: broker.url, reconnect: false, headers: { Cookie: 'session=alice' } });
  t.teardown(() => client.close());
  await client.whenConnected();
  return client;
}

t.test('a typed call gets the backend answer; a refusal rejects with the backend code', async (t) => {
  const backend = await rpcBackend(t);
  const broker = await rpcBroker(t, backend);
  const client = await sdk(t, broker);
  const answer = await client.rpc('cart.add', { sku: 'A-100', quantity: 2 });
  t.same(answer, { items: 2, by: 'alice' });
  t.match(backend.requestsTo('/rpc')[0]?.body, { method: 'cart.add', data: { sku: 'A-100', quantity: 2 }, user: 'alice', connectionId: client.connectionId });
  await t.rejects(client.rpc('cart.clear', null), { code: 'forbidden', message: /cart.clear is not yours/ });
  t.same(await client.rpc('cart.add', { sku: 'B', quantity: 5 }), { items: 5, by: 'alice' }, 'the connection goes on');
});

t.test('a backend that does not answer: unavailable from the broker, or timeout from the SDK first', async (t) => {
  const backend = await rpcBackend(t);
  const broker = await rpcBroker(t, backend, { proxyTimeoutMs: 200 });
  const client = await sdk(t, broker);
  await t.rejects(client.rpc('slow.op', null), { code: 'unavailable', message: /timed out/ });
  await t.rejects(client.rpc('slow.op', null, { timeoutMs: 50 }), { code: 'timeout' });
  t.same(await client.rpc('cart.add', { sku: 'C', quantity: 1 }), { items: 1, by: 'alice' }, 'a late answer is not mistaken for a later call');
});

t.test('rpc is announced only with PROXY_RPC_URL', async (t) => {
  const backend = await rpcBackend(t);
  const withRpc = await rpcBroker(t, backend);
  const peer = await Peer.open(withRpc.url);
  t.teardown(() => peer.close());
  t.ok(peer.welcome.capabilities?.includes('rpc'));
  t.match(await peer.request({ op: 'rpc', id: peer.id(), method: 'cart.add', data: { quantity: 3 } }), { op: 'rpc_result', data: { items: 3, by: 'nobody' } });
  const without = await startBroker(t, { proxyConnectUrl: backend.endpoint('/connect') });
  const client = createClient<Record<string, unknown>, unknown, Methods>({ url: without.url, reconnect: false });
  t.teardown(() => client.close());
  await client.whenConnected();
  await t.rejects(client.rpc('cart.clear', null), { code: 'unsupported' });
  const bare = await Peer.open(without.url);
  t.teardown(() => bare.close());
  t.notOk(bare.welcome.capabilities?.includes('rpc'));
  t.match(await bare.request({ op: 'rpc', id: bare.id(), method: 'x' }), { op: 'error', code: 'bad_request' });
});

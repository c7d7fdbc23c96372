import t from 'tap';
import { ProxyClient } from '../../src/proxy/proxy-client.js';
import { silentBackend, within } from '../helpers/silent-backend.js';

t.test('a call to a backend that never answers ends as a timeout and frees its slot, even when garbage is collected meanwhile', async (t) => {
  const backend = await silentBackend(t);
  const client = new ProxyClient({ timeoutMs: 2_000, maxConcurrent: 1, breakerFailures: 100, breakerCooldownMs: 1000 });
  t.teardown(() => client.close());
  const outcome = await within(t, client.call('connect', `${backend.url}/connect`, { headers: {} }));
  t.match(outcome, { ok: false, outcome: 'timeout' }, 'the call is given up after PROXY_TIMEOUT');
  t.equal(client.inFlight, 0, 'its concurrency slot is free again');
  t.equal(backend.connections(), 1, 'the backend did receive the call');
});

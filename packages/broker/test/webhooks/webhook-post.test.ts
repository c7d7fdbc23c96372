import t from 'tap';
import { postBatch } from '../../src/webhooks/webhook-post.js';
import { silentBackend, within } from '../helpers/silent-backend.js';

t.test('a POST to a backend that never answers ends as a timeout, even when garbage is collected while it waits', async (t) => {
  const backend = await silentBackend(t);
  const target = { url: `${backend.url}/events`, secret: 'whsec-a-test-secret-of-at-least-32-bytes', timeoutMs: 2_000 };
  const outcome = await within(t, postBatch(target, 'wb_1', '{"batch":"wb_1","node":"n1","events":[]}', new AbortController().signal));
  t.equal(outcome, 'timeout', 'the POST is given up after WEBHOOK_TIMEOUT, so the batch is retried');
  t.equal(backend.connections(), 1, 'the backend did receive the POST');
});

import t from 'tap';
import { signWebhook, verifyWebhook } from '../../src/webhooks/webhook-signature.js';
import { independentlyVerified } from '../helpers/webhook-backend.js';

/** The exported verifier (for TypeScript backends) against the signer and the documented recipe. */

const secret = 'whsec-a-test-secret-of-at-least-32-bytes';
const body = '{"batch":"wb_1","node":"n1","events":[]}';
const now = 1_767_000_000;

t.test('a signature verifies with the recipe and with verifyWebhook, only for the same body, secret and a recent time', async (t) => {
  const header = signWebhook(secret, now, body);
  t.match(header, /^t=1767000000,v1=[0-9a-f]{64}$/);
  t.same(independentlyVerified(secret, header, body), { ok: true, timestamp: now }, 'the documented recipe, written independently');
  t.ok(verifyWebhook({ header, body, secret, now }));
  t.ok(verifyWebhook({ header, body, secret, now: now + 299 }), 'within the default 300 s window');
  t.notOk(verifyWebhook({ header, body, secret, now: now + 301 }), 'a replay after the window is refused');
  t.notOk(verifyWebhook({ header, body, secret, now: now - 301 }), 'so is a timestamp from the future beyond it');
  t.notOk(verifyWebhook({ header, body: body.replace('n1', 'n2'), secret, now }), 'a changed body');
  t.notOk(verifyWebhook({ header, body, secret: `${secret}x`, now }), 'another secret');
  t.notOk(verifyWebhook({ header: header.replace(`t=${now}`, `t=${now + 1}`), body, secret, now }), 'a changed timestamp');
  t.notOk(verifyWebhook({ header: undefined, body, secret, now }), 'no header');
  t.notOk(verifyWebhook({ header: 'garbage', body, secret, now }), 'a malformed header');
  const rotated = `${header},v1=${'0'.repeat(64)}`;
  t.ok(verifyWebhook({ header: rotated, body, secret, now }), 'any one v1 matching is enough (room for key rotation)');
});

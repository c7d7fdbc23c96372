import t from 'tap';
import { parseCookies } from '../../src/proxy/backend-proxy.js';
import { CircuitBreaker } from '../../src/proxy/circuit-breaker.js';
import { ConcurrencyGate } from '../../src/proxy/concurrency-gate.js';
import { readConnectAnswer, readPublishAnswer, readSubscribeAnswer } from '../../src/proxy/proxy-answers.js';

/** The proxy's pure parts: the breaker's states on an injected clock, the gate's cap, answers and cookies. */

t.test('breaker: closed until N failures in a row, open for the cool-down, then one probe', async (t) => {
  let now = 0;
  const breaker = new CircuitBreaker({ failures: 3, cooldownMs: 1000, now: () => now });
  breaker.failed();
  breaker.failed();
  breaker.succeeded();
  breaker.failed();
  breaker.failed();
  t.equal(breaker.state, 'closed', 'a success in between resets the count');
  t.ok(breaker.admit());
  breaker.failed();
  t.equal(breaker.state, 'open');
  t.notOk(breaker.admit(), 'open: refused at once');
  now = 999;
  t.notOk(breaker.admit());
  now = 1000;
  t.equal(breaker.state, 'half-open');
  t.ok(breaker.admit(), 'the probe');
  t.notOk(breaker.admit(), 'only one probe at a time');
  breaker.failed();
  t.equal(breaker.state, 'open', 'a failed probe opens it again');
  now = 2000;
  t.ok(breaker.admit());
  breaker.released();
  t.ok(breaker.admit(), 'a probe that was never made frees the slot');
  breaker.succeeded();
  t.equal(breaker.state, 'closed');
  t.equal(breaker.opened, 2);
});

t.test('gate: at most N holders; waiters in order; an aborted wait gives up its place', async (t) => {
  const gate = new ConcurrencyGate(1);
  const never = new AbortController().signal;
  t.equal(await gate.acquire(never), true);
  const order: string[] = [];
  const abort = new AbortController();
  const first = gate.acquire(abort.signal).then((granted) => order.push(`first ${granted}`));
  const second = gate.acquire(never).then((granted) => order.push(`second ${granted}`));
  t.equal(gate.queued, 2);
  abort.abort();
  await first;
  gate.release();
  await second;
  t.same(order, ['first false', 'second true']);
  t.equal(gate.inFlight, 1);
  gate.release();
  t.equal(gate.inFlight, 0);
});

t.test('answers: each kind its shapes; anything else is no answer', async (t) => {
  t.same(readSubscribeAnswer({ allow: true }), { allow: true });
  t.equal(readSubscribeAnswer({ allow: false }), undefined, 'not an allow, not a refusal: no answer');
  t.equal(readSubscribeAnswer({}), undefined, 'an empty object allows nothing');
  t.same(readSubscribeAnswer({ refuse: { code: 'teapot' } }), { refusal: { code: 'forbidden', reason: 'refused by the backend' } });
  t.same(readPublishAnswer({ allow: true, data: { a: 1 } }), { allow: true, data: { a: 1 } });
  t.equal(readPublishAnswer({ allow: true, dataBase64: 'not base64!' }), undefined);
  t.match(readConnectAnswer({ user: 'ann', grants: { subscribe: ['a.>'] } }), { ok: true, answer: { user: 'ann' } });
  t.equal(readConnectAnswer({ user: 'ann', grants: { subscribe: ['a..b'] } }), undefined, 'grants must be patterns');
  t.equal(readConnectAnswer({ user: 'ann', extra: 1 }), undefined, 'unknown fields fit no shape');
});

t.test('cookies: parsed as browsers send them; the first of a name wins', async (t) => {
  t.same(parseCookies('a=1; session="s3"; a=2; bad; =x; b='), { a: '1', session: 's3', b: '' });
});

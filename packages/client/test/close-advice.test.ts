import t from 'tap';
import { closeAdvice } from '../src/close-advice.js';
import { SwitchboardError } from '../src/errors.js';

const refused = (status: number) => ({ code: 1006, reason: '', wasClean: false, status });

t.test('a refused handshake: its HTTP status says the code and whether to retry (protocol.md §2.1)', async (t) => {
  const cases: Array<[number, string, string]> = [
    [400, 'unsupported_protocol', 'never'],
    [403, 'forbidden', 'never'],
    [404, 'bad_request', 'never'],
    [426, 'connect_failed', 'never'],
    [503, 'unavailable', 'backoff'],
    [500, 'connect_failed', 'backoff'],
    [502, 'connect_failed', 'backoff'],
  ];
  for (const [status, code, advice] of cases) {
    const result = closeAdvice(refused(status), undefined, true);
    t.equal(result.advice, advice, `${status} → ${advice}`);
    t.match(result.error, { code, closeCode: 1006, message: `the broker refused the connection with HTTP ${status}` });
  }
});

t.test('401: retried only when getToken can bring a new token', async (t) => {
  t.match(closeAdvice(refused(401), undefined, true), { advice: 'backoff', error: { code: 'invalid_token' } });
  t.match(closeAdvice(refused(401), undefined, false), { advice: 'never', error: { code: 'invalid_token' } });
});

t.test('a close code: the advice of protocol.md §11, the code and reason in the error', async (t) => {
  t.match(closeAdvice({ code: 4100, reason: 'shutdown', wasClean: true }, undefined, false), {
    advice: 'now',
    error: { code: 'closed', closeCode: 4100, message: 'the connection closed with 4100 (shutdown)' },
  });
  t.match(closeAdvice({ code: 4401, reason: '', wasClean: true }, undefined, false), {
    advice: 'never',
    error: { message: 'the connection closed with 4401' },
  });
  t.equal(closeAdvice({ code: 4000, reason: '', wasClean: true }, undefined, false).advice, 'backoff');
});

t.test('a connection the client dropped itself backs off with its own error', async (t) => {
  const cause = new SwitchboardError('ping_timeout', 'no pong within 10 ms');
  const result = closeAdvice({ code: 1006, reason: cause.message, wasClean: false, status: 403 }, cause, false);
  t.equal(result.advice, 'backoff');
  t.equal(result.error, cause);
});

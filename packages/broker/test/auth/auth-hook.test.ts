// runAuthHook: a hook's outcome, checked, synchronously when the hook answers synchronously (an anonymous
// upgrade then completes in the tick it arrived in), as a promise when it answers with one; a throw, a
// rejection or a malformed outcome becomes `forbidden`, never a crash.
import t from 'tap';
import { type AuthHook, type AuthOutcome, type AuthRequest, builtinAuthenticator, runAuthHook } from '../../src/auth/authenticator.js';
import { createConfig } from '../../src/config/config.js';

const request = (token?: string): AuthRequest => ({ kind: 'connect', token, headers: {}, remoteAddress: '127.0.0.1' });
const admitted: AuthOutcome = { ok: true, identity: { subject: 'ada', grants: { publish: ['>'], subscribe: ['>'] } } };

t.test('a synchronous hook is answered synchronously, with its own outcome', async (t) => {
  const answer = runAuthHook(() => admitted, request());
  t.notOk(answer instanceof Promise, 'not a promise');
  t.equal(answer, admitted);
});

t.test('a hook that answers with a promise is answered with one', async (t) => {
  const answer = runAuthHook(async () => admitted, request());
  t.ok(answer instanceof Promise, 'a promise');
  t.equal(await answer, admitted);
});

t.test('a throw, a rejection and a malformed outcome become forbidden, with the error kept', async (t) => {
  const thrown = new Error('hook bug');
  const throwing = runAuthHook(() => {
    throw thrown;
  }, request());
  t.match(throwing, { ok: false, code: 'forbidden', message: 'authentication failed', hookError: thrown }, 'a throw, answered synchronously');
  t.match(await runAuthHook(() => Promise.reject(thrown), request()), { ok: false, code: 'forbidden', hookError: thrown }, 'a rejection');
  const malformed = runAuthHook((() => null) as unknown as AuthHook, request());
  t.match(malformed, { ok: false, code: 'forbidden', hookError: TypeError }, 'no outcome');
  t.match(await runAuthHook((async () => ({ ok: 'yes' })) as unknown as AuthHook, request()), { ok: false, code: 'forbidden', hookError: TypeError }, 'ok not a boolean');
});

t.test('a failure code that is not an auth failure becomes invalid_token', async (t) => {
  const answer = runAuthHook(() => ({ ok: false, code: 'rate_limited', message: 'slow down' }) as unknown as AuthOutcome, request());
  t.match(answer, { ok: false, code: 'invalid_token', message: 'slow down' });
});

t.test('the built-in authenticator answers without a token synchronously, and checks a token asynchronously', async (t) => {
  const anonymous = builtinAuthenticator(createConfig({ allowAnonymous: true, anonymousSubscribe: ['public.>'] }));
  const welcome = anonymous(request());
  t.notOk(welcome instanceof Promise, 'anonymous: not a promise');
  t.match(welcome, { ok: true, identity: { anonymous: true, grants: { subscribe: ['public.>'] } } });
  t.match(anonymous(request('a.b.c')), { ok: false, code: 'invalid_token', message: /no JWT key configured/ }, 'a token and no key: refused at once');

  const closed = builtinAuthenticator(createConfig({ allowAnonymous: false }));
  t.match(closed(request()), { ok: false, code: 'invalid_token', message: 'a token is required' });

  const withKey = builtinAuthenticator(createConfig({ jwtSecret: 'a-secret-of-at-least-thirty-two-bytes!' }));
  const checked = withKey(request('not.a.jwt'));
  t.ok(checked instanceof Promise, 'a token: checked asynchronously');
  t.match(await checked, { ok: false, code: 'invalid_token' });
});

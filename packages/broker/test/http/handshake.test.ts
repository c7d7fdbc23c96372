import t from 'tap';
import type { IncomingHttpHeaders } from 'node:http';
import { SUBPROTOCOL } from '@switchboard/protocol';
import { acceptHandshake } from '@switchboard/core';
import { checkSubprotocol, originChecker, type SubprotocolCheck } from '../../src/http/handshake.js';
import { offeredProtocols, tokenFromHeaders } from '../../src/auth/authenticator.js';

/** The broker's own handshake checks (protocol.md §2.1, §2.2), as pure functions over headers. */

/** The broker's subprotocol check of a request, on the subprotocol core's handshake selects for it. */
function checkRequest(headers: IncomingHttpHeaders, allowMissing: boolean): SubprotocolCheck {
  const request = {
    method: 'GET',
    httpVersion: '1.1',
    headers: { host: 'broker', upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', ...headers },
  };
  const handshake = acceptHandshake(request, { protocols: [SUBPROTOCOL] });
  return checkSubprotocol(handshake.accepted ? handshake.protocol : '', headers['sec-websocket-protocol'] !== undefined, allowMissing);
}

t.test('subprotocol: pubsub.v1 must be offered; a missing header only when allowed; bearer entries are not protocols', async (t) => {
  t.equal(checkRequest({ 'sec-websocket-protocol': 'pubsub.v1' }, false), 'offered');
  t.equal(checkRequest({ 'sec-websocket-protocol': 'chat, pubsub.v1' }, false), 'offered');
  t.equal(checkRequest({ 'sec-websocket-protocol': 'pubsub.v2' }, true), 'refused', 'offering only others is always refused');
  t.equal(checkRequest({ 'sec-websocket-protocol': 'bearer.pubsub.v1' }, false), 'refused');
  t.equal(checkRequest({}, false), 'refused');
  t.equal(checkRequest({}, true), 'absent-allowed');
});

t.test('origin allowlist: exact, wildcard subdomains, case-insensitive; empty allows all', async (t) => {
  const allowAll = originChecker([], false);
  t.ok(allowAll('https://anything.example'));
  t.ok(allowAll(undefined));
  const check = originChecker(['https://App.example', 'https://*.example.org'], false);
  t.ok(check('https://app.example'));
  t.ok(check('https://a.example.org'));
  t.ok(check('https://a.b.example.org'));
  t.notOk(check('https://example.org'));
  t.notOk(check('https://evilexample.org'));
  t.notOk(check('http://a.example.org'));
  t.notOk(check('https://app.example:8443'));
  t.notOk(check(undefined));
  t.ok(originChecker(['https://app.example'], true)(undefined), 'a missing Origin when allowed');
});

t.test('tokens: Authorization Bearer first, then a bearer.<token> protocol entry for upgrades only', async (t) => {
  t.equal(tokenFromHeaders({ authorization: 'Bearer abc.def.ghi' }, true), 'abc.def.ghi');
  t.equal(tokenFromHeaders({ authorization: 'bearer   abc' }, true), 'abc', 'the scheme is case-insensitive');
  t.equal(tokenFromHeaders({ authorization: 'Basic dXNlcg==' }, true), '', 'a malformed Authorization is a bad credential, not none');
  t.equal(tokenFromHeaders({ authorization: 'Bearer a', 'sec-websocket-protocol': 'pubsub.v1, bearer.b' }, true), 'a');
  t.equal(tokenFromHeaders({ 'sec-websocket-protocol': 'pubsub.v1, bearer.b' }, true), 'b');
  t.equal(tokenFromHeaders({ 'sec-websocket-protocol': 'pubsub.v1, bearer.b' }, false), undefined, 'not for HTTP requests');
  t.equal(tokenFromHeaders({}, true), undefined);
  t.same(offeredProtocols({ 'sec-websocket-protocol': ' a ,, b,' }), ['a', 'b']);
});

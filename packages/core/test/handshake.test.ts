import t from 'tap';
import { ErrorCode } from '../src/errors.js';
import type { PerMessageDeflateOptions } from '../src/extensions/permessage-deflate.js';
import {
  acceptHandshake,
  computeAccept,
  createClientHandshake,
  generateKey,
  rejectionResponse,
  validateServerResponse,
  type HandshakeRequest,
  type HeaderMap,
  type ServerHandshake,
} from '../src/index.js';

/** RFC 6455 §1.3 / §4.2.2: the example key and its accept value. */
const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** The RFC 6455 §1.2 example request, as Node would hand it over. */
function request(headers: HeaderMap = {}, overrides: Partial<HandshakeRequest> = {}): HandshakeRequest {
  return {
    method: 'GET',
    httpVersion: '1.1',
    headers: {
      host: 'server.example.com',
      upgrade: 'websocket',
      connection: 'Upgrade',
      'sec-websocket-key': KEY,
      'sec-websocket-version': '13',
      ...headers,
    },
    ...overrides,
  };
}

function without(name: string): HeaderMap {
  return { [name]: undefined };
}

function rejected(handshake: ServerHandshake): { status: number; reason: string; response: string } {
  if (handshake.accepted) throw new Error('expected a rejection');
  return { status: handshake.status, reason: handshake.reason, response: handshake.response };
}

function accepted(handshake: ServerHandshake): Extract<ServerHandshake, { accepted: true }> {
  if (!handshake.accepted) throw new Error(`expected acceptance, got ${handshake.status} ${handshake.reason}`);
  return handshake;
}

/** Exactly what a 400 for `reason` looks like on the wire. */
function badRequest(reason: string): string {
  return (
    'HTTP/1.1 400 Bad Request\r\n' +
    'Connection: close\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(reason)}\r\n` +
    `\r\n${reason}`
  );
}

/** Reads a response string back into what Node's HTTP client would report. */
function parseResponse(response: string): { statusCode: number; headers: HeaderMap } {
  const [head = ''] = response.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { statusCode: Number(statusLine.split(' ')[1]), headers };
}

function lowercase(headers: Record<string, string>): HeaderMap {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

t.test('RFC 6455 §1.3, §4.1: keys', async (t) => {
  t.test('computeAccept of the RFC example key', async (t) => {
    t.equal(computeAccept(KEY), ACCEPT);
  });

  t.test('generateKey encodes 16 bytes from the injected source', async (t) => {
    t.equal(generateKey(() => Uint8Array.from({ length: 16 }, (_, i) => i)), 'AAECAwQFBgcICQoLDA0ODw==');
  });

  t.test('generateKey by default is random: 24 characters, 16 bytes, fresh each time', async (t) => {
    const first = generateKey();
    t.match(first, /^[A-Za-z0-9+/]{22}==$/);
    t.equal(Buffer.from(first, 'base64').length, 16);
    t.not(generateKey(), first);
  });

  t.test('generateKey with a source returning the wrong size: ERR_WS_INVALID_ARGUMENT', async (t) => {
    t.throws(() => generateKey(() => new Uint8Array(15)), { code: ErrorCode.invalidArgument });
  });
});

t.test('RFC 6455 §4.2: server accepts', async (t) => {
  t.test('server receives the RFC example request: 101 with the example accept value', async (t) => {
    const handshake = accepted(acceptHandshake(request()));
    t.equal(
      handshake.response,
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        '\r\n',
    );
    t.equal(handshake.protocol, '');
    t.equal(handshake.extensions, '');
    t.equal(handshake.deflate, undefined);
  });

  t.test('server receives the RFC example with Origin and subprotocols chat, superchat: selects chat', async (t) => {
    const handshake = accepted(
      acceptHandshake(request({ origin: 'http://example.com', 'sec-websocket-protocol': 'chat, superchat' }), {
        protocols: ['chat'],
      }),
    );
    t.equal(
      handshake.response,
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        'Sec-WebSocket-Protocol: chat\r\n' +
        '\r\n',
    );
    t.equal(handshake.protocol, 'chat');
  });

  t.test('server receives Firefox-style headers (Connection: keep-alive, Upgrade; Upgrade: WebSocket): 101', async (t) => {
    accepted(acceptHandshake(request({ connection: 'keep-alive, Upgrade', upgrade: 'WebSocket' })));
    accepted(acceptHandshake(request({ connection: ['keep-alive', 'upgrade'] })));
  });

  t.test('server receives HTTP/2.0 and HTTP/1.2 versions: 101 (1.1 or later)', async (t) => {
    accepted(acceptHandshake(request({}, { httpVersion: '2.0' })));
    accepted(acceptHandshake(request({}, { httpVersion: '1.2' })));
  });
});

t.test('RFC 6455 §4.2.1: server rejects', async (t) => {
  t.test('server receives POST: 405 with Allow: GET', async (t) => {
    t.same(rejected(acceptHandshake(request({}, { method: 'POST' }))), {
      status: 405,
      reason: 'Method must be GET',
      response:
        'HTTP/1.1 405 Method Not Allowed\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 18\r\n' +
        'Allow: GET\r\n' +
        '\r\n' +
        'Method must be GET',
    });
  });

  t.test('server receives lowercase get: 405 (methods are case-sensitive)', async (t) => {
    t.equal(rejected(acceptHandshake(request({}, { method: 'get' }))).status, 405);
  });

  for (const version of ['1.0', '0.9', '', 'x.y', '1']) {
    t.test(`server receives HTTP version ${JSON.stringify(version)}: 400`, async (t) => {
      t.same(rejected(acceptHandshake(request({}, { httpVersion: version }))), {
        status: 400,
        reason: 'HTTP/1.1 or later is required',
        response: badRequest('HTTP/1.1 or later is required'),
      });
    });
  }

  const hostCases: [string, HeaderMap][] = [
    ['no Host', without('host')],
    ['an empty Host', { host: '' }],
    ['two Host headers', { host: ['a.example', 'b.example'] }],
  ];
  for (const [why, headers] of hostCases) {
    t.test(`server receives ${why}: 400`, async (t) => {
      t.same(rejected(acceptHandshake(request(headers))), {
        status: 400,
        reason: 'Missing or repeated Host header',
        response: badRequest('Missing or repeated Host header'),
      });
    });
  }

  const upgradeCases: [string, HeaderMap][] = [
    ['no Upgrade', without('upgrade')],
    ['Upgrade: h2c', { upgrade: 'h2c' }],
    ['Upgrade: websocket/13', { upgrade: 'websocket/13' }],
  ];
  for (const [why, headers] of upgradeCases) {
    t.test(`server receives ${why}: 400`, async (t) => {
      t.same(rejected(acceptHandshake(request(headers))), {
        status: 400,
        reason: 'Upgrade header must be websocket',
        response: badRequest('Upgrade header must be websocket'),
      });
    });
  }

  const connectionCases: [string, HeaderMap][] = [
    ['no Connection', without('connection')],
    ['Connection: keep-alive', { connection: 'keep-alive' }],
    ['Connection: upgraded', { connection: 'upgraded' }],
  ];
  for (const [why, headers] of connectionCases) {
    t.test(`server receives ${why}: 400`, async (t) => {
      t.same(rejected(acceptHandshake(request(headers))), {
        status: 400,
        reason: 'Connection header must include Upgrade',
        response: badRequest('Connection header must include Upgrade'),
      });
    });
  }

  const versionCases: [string, HeaderMap][] = [
    ['version 8', { 'sec-websocket-version': '8' }],
    ['no version', without('sec-websocket-version')],
    ['versions 13, 8', { 'sec-websocket-version': '13, 8' }],
    ['a repeated version header', { 'sec-websocket-version': ['13', '13'] }],
    ['version 013', { 'sec-websocket-version': '013' }],
  ];
  for (const [why, headers] of versionCases) {
    t.test(`server receives ${why}: 426 with Sec-WebSocket-Version: 13`, async (t) => {
      t.same(rejected(acceptHandshake(request(headers))), {
        status: 426,
        reason: 'Unsupported WebSocket version',
        response:
          'HTTP/1.1 426 Upgrade Required\r\n' +
          'Connection: close\r\n' +
          'Content-Type: text/plain; charset=utf-8\r\n' +
          'Content-Length: 29\r\n' +
          'Sec-WebSocket-Version: 13\r\n' +
          '\r\n' +
          'Unsupported WebSocket version',
      });
    });
  }

  const keyCases: [string, HeaderMap][] = [
    ['no key', without('sec-websocket-key')],
    ['an empty key', { 'sec-websocket-key': '' }],
    ['a key of 15 bytes', { 'sec-websocket-key': Buffer.alloc(15).toString('base64') }],
    ['a key of 17 bytes', { 'sec-websocket-key': Buffer.alloc(17).toString('base64') }],
    ['a key without padding', { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ' }],
    ['a key with non-zero padding bits', { 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZR==' }],
    ['a key in the URL-safe alphabet', { 'sec-websocket-key': 'dGhl-HNhbXBsZSBub25jZQ==' }],
    ['a key with a space inside', { 'sec-websocket-key': 'dGhlIHNhbXBs ZSBub25jZQ==' }],
    ['two keys', { 'sec-websocket-key': [KEY, KEY] }],
  ];
  for (const [why, headers] of keyCases) {
    t.test(`server receives ${why}: 400`, async (t) => {
      t.same(rejected(acceptHandshake(request(headers))), {
        status: 400,
        reason: 'Invalid Sec-WebSocket-Key header',
        response: badRequest('Invalid Sec-WebSocket-Key header'),
      });
    });
  }

  t.test('server refuses the origin: 403', async (t) => {
    const seen: (string | undefined)[] = [];
    const verifyOrigin = (origin: string | undefined): boolean => {
      seen.push(origin);
      return origin === 'https://good.example';
    };
    t.same(rejected(acceptHandshake(request({ origin: 'https://evil.example' }), { verifyOrigin })), {
      status: 403,
      reason: 'Origin not allowed',
      response:
        'HTTP/1.1 403 Forbidden\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 18\r\n' +
        '\r\n' +
        'Origin not allowed',
    });
    t.equal(rejected(acceptHandshake(request(), { verifyOrigin })).status, 403);
    accepted(acceptHandshake(request({ origin: 'https://good.example' }), { verifyOrigin }));
    t.same(seen, ['https://evil.example', undefined, 'https://good.example']);
  });

  const protocolCases: [string, string | string[]][] = [
    ['an empty subprotocol header', ''],
    ['only empty list elements', ' , '],
    ['a subprotocol with a space', 'chat, super chat'],
    ['a subprotocol with a slash', 'chat/1'],
    ['a quoted subprotocol', '"chat"'],
    ['a repeated subprotocol', 'chat, superchat, chat'],
    ['a subprotocol repeated across headers', ['chat', 'chat']],
  ];
  for (const [why, value] of protocolCases) {
    t.test(`server receives ${why}: 400`, async (t) => {
      t.same(rejected(acceptHandshake(request({ 'sec-websocket-protocol': value }), { protocols: ['chat'] })), {
        status: 400,
        reason: 'Invalid Sec-WebSocket-Protocol header',
        response: badRequest('Invalid Sec-WebSocket-Protocol header'),
      });
    });
  }

  t.test('server with permessage-deflate receives a malformed Sec-WebSocket-Extensions: 400', async (t) => {
    t.same(rejected(acceptHandshake(request({ 'sec-websocket-extensions': 'permessage-deflate;' }), { perMessageDeflate: {} })), {
      status: 400,
      reason: 'Invalid Sec-WebSocket-Extensions header',
      response: badRequest('Invalid Sec-WebSocket-Extensions header'),
    });
  });

  t.test('server without permessage-deflate ignores a malformed Sec-WebSocket-Extensions: 101', async (t) => {
    t.equal(accepted(acceptHandshake(request({ 'sec-websocket-extensions': 'permessage-deflate;' }))).extensions, '');
  });

  t.test('checks run in order: a POST with every header wrong is a 405', async (t) => {
    t.equal(rejected(acceptHandshake({ method: 'POST', httpVersion: '1.0', headers: {} })).status, 405);
  });

  t.test('server options with an invalid subprotocol: ERR_WS_INVALID_ARGUMENT', async (t) => {
    t.throws(() => acceptHandshake(request(), { protocols: ['a b'] }), { code: ErrorCode.invalidArgument });
    t.throws(() => acceptHandshake(request(), { protocols: ['a', 'a'] }), { code: ErrorCode.invalidArgument });
  });
});

t.test('RFC 6455 §4.2.2: server selects a subprotocol', async (t) => {
  const select = (offered: string | string[] | undefined, supported: string[]): string =>
    accepted(acceptHandshake(request({ 'sec-websocket-protocol': offered }), { protocols: supported })).protocol;

  t.test('server picks its own first preference among those offered', async (t) => {
    t.equal(select('a, b, c', ['c', 'b']), 'c');
    t.equal(select('a, b', ['x', 'b', 'a']), 'b');
  });

  t.test('server reads repeated headers and empty list elements', async (t) => {
    t.equal(select(['a', 'b'], ['b']), 'b');
    t.equal(select(', a ,, b,', ['b']), 'b');
  });

  t.test('server supports none of the offered: 101 without Sec-WebSocket-Protocol', async (t) => {
    const handshake = accepted(acceptHandshake(request({ 'sec-websocket-protocol': 'a' }), { protocols: ['b'] }));
    t.equal(handshake.protocol, '');
    t.notMatch(handshake.response, /Sec-WebSocket-Protocol/);
  });

  t.test('subprotocols compare case-sensitively', async (t) => {
    t.equal(select('Chat', ['chat']), '');
  });

  t.test('client offers none: no subprotocol whatever the server supports', async (t) => {
    t.equal(select(undefined, ['chat']), '');
  });
});

t.test('RFC 6455 §9, RFC 7692: server negotiates extensions', async (t) => {
  t.test('server with permessage-deflate receives an offer: answers it', async (t) => {
    const handshake = accepted(
      acceptHandshake(request({ 'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits' }), {
        perMessageDeflate: {},
      }),
    );
    t.equal(handshake.extensions, 'permessage-deflate; server_no_context_takeover');
    t.same(handshake.deflate, {
      serverNoContextTakeover: true,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    });
    t.equal(
      handshake.response,
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${ACCEPT}\r\n` +
        'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n' +
        '\r\n',
    );
  });

  t.test('server with subprotocol and permessage-deflate: both headers, protocol first', async (t) => {
    const handshake = accepted(
      acceptHandshake(request({ 'sec-websocket-protocol': 'chat', 'sec-websocket-extensions': 'permessage-deflate' }), {
        protocols: ['chat'],
        perMessageDeflate: { serverNoContextTakeover: false },
      }),
    );
    t.match(handshake.response, /\r\nSec-WebSocket-Protocol: chat\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n$/);
  });

  t.test('server ignores unknown extensions and negotiates the one it knows', async (t) => {
    const handshake = accepted(
      acceptHandshake(request({ 'sec-websocket-extensions': ['x-webkit-deflate-frame', 'permessage-deflate'] }), {
        perMessageDeflate: {},
      }),
    );
    t.equal(handshake.extensions, 'permessage-deflate; server_no_context_takeover');
  });

  t.test('server receives only unknown extensions: 101 without Sec-WebSocket-Extensions', async (t) => {
    const handshake = accepted(acceptHandshake(request({ 'sec-websocket-extensions': 'x-foo; bar=1' }), { perMessageDeflate: {} }));
    t.equal(handshake.extensions, '');
    t.equal(handshake.deflate, undefined);
    t.notMatch(handshake.response, /Sec-WebSocket-Extensions/);
  });

  t.test('server declines an invalid permessage-deflate offer: 101 without extensions', async (t) => {
    const handshake = accepted(
      acceptHandshake(request({ 'sec-websocket-extensions': 'permessage-deflate; server_max_window_bits=7' }), { perMessageDeflate: {} }),
    );
    t.equal(handshake.extensions, '');
  });

  t.test('server without permessage-deflate (the default) ignores the offer', async (t) => {
    t.equal(accepted(acceptHandshake(request({ 'sec-websocket-extensions': 'permessage-deflate' }))).extensions, '');
    t.equal(
      accepted(acceptHandshake(request({ 'sec-websocket-extensions': 'permessage-deflate' }), { perMessageDeflate: false })).extensions,
      '',
    );
  });
});

t.test('rejectionResponse', async (t) => {
  t.test('a 503 with Retry-After, exact bytes', async (t) => {
    t.equal(
      rejectionResponse(503, 'Too many connections', { 'Retry-After': '5' }),
      'HTTP/1.1 503 Service Unavailable\r\n' +
        'Connection: close\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        'Content-Length: 20\r\n' +
        'Retry-After: 5\r\n' +
        '\r\n' +
        'Too many connections',
    );
  });

  t.test('a Content-Type among the extra headers replaces text/plain in its place: exact bytes', async (t) => {
    t.equal(
      rejectionResponse(503, '{"code":"unavailable"}', {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        'Retry-After': '5',
      }),
      'HTTP/1.1 503 Service Unavailable\r\n' +
        'Connection: close\r\n' +
        'Content-Type: application/json; charset=utf-8\r\n' +
        'Content-Length: 22\r\n' +
        'Cache-Control: no-store\r\n' +
        'Retry-After: 5\r\n' +
        '\r\n' +
        '{"code":"unavailable"}',
    );
  });

  t.test('Content-Length counts UTF-8 bytes, not characters', async (t) => {
    t.match(rejectionResponse(401, 'Non autorisé'), /\r\nContent-Length: 13\r\n/);
  });

  t.test('a status without a standard phrase says Unknown', async (t) => {
    t.match(rejectionResponse(499, 'x'), /^HTTP\/1\.1 499 Unknown\r\n/);
  });

  t.test('invalid arguments: ERR_WS_INVALID_ARGUMENT', async (t) => {
    t.throws(() => rejectionResponse(200, 'ok'), { code: ErrorCode.invalidArgument });
    t.throws(() => rejectionResponse(600, 'x'), { code: ErrorCode.invalidArgument });
    t.throws(() => rejectionResponse(400.5, 'x'), { code: ErrorCode.invalidArgument });
    t.throws(() => rejectionResponse(400, 'x', { 'X-A': 'a\r\nSet-Cookie: b' }), { code: ErrorCode.invalidArgument });
    t.throws(() => rejectionResponse(400, 'x', { 'X A': 'a' }), { code: ErrorCode.invalidArgument });
    t.throws(() => rejectionResponse(400, 'x', { 'content-length': '0' }), { code: ErrorCode.invalidArgument });
  });
});

t.test('RFC 6455 §4.1: client request', async (t) => {
  t.test('client with the RFC key, subprotocols and no compression: exact headers in order', async (t) => {
    const handshake = createClientHandshake({ key: KEY, protocols: ['chat', 'superchat'], headers: { Origin: 'http://example.com' } });
    t.same(Object.entries(handshake.headers), [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', KEY],
      ['Sec-WebSocket-Version', '13'],
      ['Sec-WebSocket-Protocol', 'chat, superchat'],
      ['Origin', 'http://example.com'],
    ]);
    t.equal(handshake.key, KEY);
    t.same(handshake.protocols, ['chat', 'superchat']);
    t.equal(handshake.perMessageDeflate, false);
  });

  t.test('client with permessage-deflate offers it', async (t) => {
    const handshake = createClientHandshake({ key: KEY, perMessageDeflate: { serverMaxWindowBits: 10 } });
    t.equal(handshake.headers['Sec-WebSocket-Extensions'], 'permessage-deflate; server_max_window_bits=10; client_max_window_bits');
    t.notOk('Sec-WebSocket-Protocol' in handshake.headers);
  });

  t.test('client defaults: a fresh random key, no subprotocol, no extension', async (t) => {
    const first = createClientHandshake();
    t.same(Object.keys(first.headers), ['Upgrade', 'Connection', 'Sec-WebSocket-Key', 'Sec-WebSocket-Version']);
    t.equal(Buffer.from(first.key, 'base64').length, 16);
    t.not(createClientHandshake().key, first.key);
  });

  t.test('client options that would break the handshake: ERR_WS_INVALID_ARGUMENT', async (t) => {
    t.throws(() => createClientHandshake({ key: 'short' }), { code: ErrorCode.invalidArgument });
    t.throws(() => createClientHandshake({ protocols: ['a b'] }), { code: ErrorCode.invalidArgument });
    t.throws(() => createClientHandshake({ protocols: ['chat', 'chat'] }), { code: ErrorCode.invalidArgument });
    t.throws(() => createClientHandshake({ headers: { 'sec-websocket-key': KEY } }), { code: ErrorCode.invalidArgument });
    t.throws(() => createClientHandshake({ headers: { Connection: 'close' } }), { code: ErrorCode.invalidArgument });
    t.throws(() => createClientHandshake({ headers: { Cookie: 'a\nb' } }), { code: ErrorCode.invalidArgument });
    t.throws(() => createClientHandshake({ perMessageDeflate: { clientMaxWindowBits: 16 } }), { code: ErrorCode.invalidArgument });
  });
});

t.test('RFC 6455 §4.1: client validates the response', async (t) => {
  const ok: HeaderMap = { upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-accept': ACCEPT };
  const validate = (headers: HeaderMap, options: Parameters<typeof createClientHandshake>[0] = {}, statusCode = 101) =>
    validateServerResponse({ statusCode, headers: { ...ok, ...headers } }, createClientHandshake({ key: KEY, ...options }));

  t.test('client receives the RFC example response: open, no subprotocol, no extension', async (t) => {
    t.same(validate({}), { ok: true, protocol: '', extensions: '', deflate: undefined });
  });

  t.test('client receives Upgrade: WebSocket and Connection: keep-alive, upgrade: open', async (t) => {
    t.equal(validate({ upgrade: 'WebSocket', connection: 'keep-alive, upgrade' }).ok, true);
  });

  const failures: [string, HeaderMap, number, ErrorCode, string][] = [
    ['status 200', {}, 200, ErrorCode.handshakeRejected, 'server answered 200 instead of 101'],
    ['status 403', {}, 403, ErrorCode.handshakeRejected, 'server answered 403 instead of 101'],
    ['no Upgrade', without('upgrade'), 101, ErrorCode.handshakeInvalid, 'Upgrade header of the response is not websocket'],
    ['Upgrade: h2c', { upgrade: 'h2c' }, 101, ErrorCode.handshakeInvalid, 'Upgrade header of the response is not websocket'],
    ['no Connection', without('connection'), 101, ErrorCode.handshakeInvalid, 'Connection header of the response does not include Upgrade'],
    ['no Sec-WebSocket-Accept', without('sec-websocket-accept'), 101, ErrorCode.handshakeInvalid, 'Sec-WebSocket-Accept does not match the key'],
    ['a wrong Sec-WebSocket-Accept', { 'sec-websocket-accept': computeAccept(generateKey()) }, 101, ErrorCode.handshakeInvalid, 'Sec-WebSocket-Accept does not match the key'],
    ['the key echoed as accept', { 'sec-websocket-accept': KEY }, 101, ErrorCode.handshakeInvalid, 'Sec-WebSocket-Accept does not match the key'],
    ['two accept headers', { 'sec-websocket-accept': [ACCEPT, ACCEPT] }, 101, ErrorCode.handshakeInvalid, 'Sec-WebSocket-Accept does not match the key'],
  ];
  for (const [why, headers, status, code, message] of failures) {
    t.test(`client receives ${why}: fails with ${code}`, async (t) => {
      const result = validate(headers, {}, status);
      t.equal(result.ok, false);
      if (!result.ok) {
        t.match(result.error, { name: 'WebSocketError', code, message, closeCode: 1006 });
        t.equal(result.error.status, code === ErrorCode.handshakeRejected ? status : undefined, 'status only for a refused handshake');
      }
    });
  }

  t.test('client offered chat, superchat and receives superchat: open with superchat', async (t) => {
    t.same(validate({ 'sec-websocket-protocol': 'superchat' }, { protocols: ['chat', 'superchat'] }), {
      ok: true,
      protocol: 'superchat',
      extensions: '',
      deflate: undefined,
    });
  });

  t.test('client offered chat and the server selected none: open with protocol ""', async (t) => {
    t.match(validate({}, { protocols: ['chat'] }), { ok: true, protocol: '' });
  });

  const protocolFailures: [string, HeaderMap, string[], string][] = [
    ['a subprotocol it did not offer', { 'sec-websocket-protocol': 'other' }, ['chat'], 'server selected subprotocol "other", which was not offered'],
    ['a subprotocol when it offered none', { 'sec-websocket-protocol': 'chat' }, [], 'server selected subprotocol "chat" but none was offered'],
    ['two subprotocols', { 'sec-websocket-protocol': 'chat, superchat' }, ['chat', 'superchat'], 'server selected subprotocol "chat, superchat", which was not offered'],
    ['an empty subprotocol header', { 'sec-websocket-protocol': '' }, ['chat'], 'server selected subprotocol "", which was not offered'],
    ['a subprotocol in another case', { 'sec-websocket-protocol': 'Chat' }, ['chat'], 'server selected subprotocol "Chat", which was not offered'],
  ];
  for (const [why, headers, protocols, message] of protocolFailures) {
    t.test(`client receives ${why}: fails with ERR_WS_UNEXPECTED_PROTOCOL`, async (t) => {
      const result = validate(headers, { protocols });
      t.equal(result.ok, false);
      if (!result.ok) t.match(result.error, { code: ErrorCode.unexpectedProtocol, message, closeCode: 1006 });
    });
  }

  t.test('client offered permessage-deflate and receives it: open with the agreed parameters', async (t) => {
    t.same(
      validate(
        { 'sec-websocket-extensions': 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10' },
        { perMessageDeflate: {} },
      ),
      {
        ok: true,
        protocol: '',
        extensions: 'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
        deflate: { serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 10 },
      },
    );
  });

  t.test('client offered permessage-deflate and the server declined: open without compression', async (t) => {
    t.same(validate({}, { perMessageDeflate: {} }), { ok: true, protocol: '', extensions: '', deflate: undefined });
  });

  const extensionFailures: [string, HeaderMap, PerMessageDeflateOptions | false, string][] = [
    ['permessage-deflate it did not offer', { 'sec-websocket-extensions': 'permessage-deflate' }, false, 'server accepted extension permessage-deflate, which was not offered'],
    ['an unknown extension', { 'sec-websocket-extensions': 'x-foo' }, {}, 'server accepted extension x-foo, which was not offered'],
    ['permessage-deflate twice', { 'sec-websocket-extensions': 'permessage-deflate, permessage-deflate' }, {}, 'server accepted permessage-deflate twice'],
    ['a malformed header', { 'sec-websocket-extensions': 'permessage-deflate;' }, {}, 'Invalid Sec-WebSocket-Extensions header: expected parameter name at offset 19'],
    ['an empty header', { 'sec-websocket-extensions': '' }, {}, 'Invalid Sec-WebSocket-Extensions header: no extension in the header at offset 0'],
    ['an invalid window size', { 'sec-websocket-extensions': 'permessage-deflate; server_max_window_bits=16' }, {}, 'Invalid permessage-deflate response: invalid server_max_window_bits'],
    ['an ignored server_no_context_takeover', { 'sec-websocket-extensions': 'permessage-deflate' }, { serverNoContextTakeover: true }, 'Invalid permessage-deflate response: server ignored the requested server_no_context_takeover'],
  ];
  for (const [why, headers, perMessageDeflate, message] of extensionFailures) {
    t.test(`client receives ${why}: fails with 1010`, async (t) => {
      const result = validate(headers, { perMessageDeflate });
      t.equal(result.ok, false);
      if (!result.ok) t.match(result.error, { code: ErrorCode.invalidExtension, message, closeCode: 1010 });
    });
  }
});

t.test('both sides: a client request through the server and back', async (t) => {
  const cases: [string, Parameters<typeof createClientHandshake>[0], Parameters<typeof acceptHandshake>[1]][] = [
    ['plain', {}, {}],
    ['subprotocols', { protocols: ['v2.pubsub', 'v1.pubsub'] }, { protocols: ['v1.pubsub', 'v2.pubsub'] }],
    ['default compression', { perMessageDeflate: {} }, { perMessageDeflate: {} }],
    [
      'every compression parameter',
      { perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 9, clientMaxWindowBits: 12 } },
      { perMessageDeflate: { clientMaxWindowBits: 10, serverMaxWindowBits: 8 } },
    ],
    ['compression on the client only', { perMessageDeflate: {} }, {}],
    ['compression on the server only', {}, { perMessageDeflate: {} }],
  ];
  for (const [why, clientOptions, serverOptions] of cases) {
    t.test(`${why}: both sides agree`, async (t) => {
      const client = createClientHandshake(clientOptions);
      const server = accepted(
        acceptHandshake({ method: 'GET', httpVersion: '1.1', headers: { host: 'broker.example', ...lowercase(client.headers) } }, serverOptions),
      );
      const result = validateServerResponse(parseResponse(server.response), client);
      t.same(result, { ok: true, protocol: server.protocol, extensions: server.extensions, deflate: server.deflate });
    });
  }
});

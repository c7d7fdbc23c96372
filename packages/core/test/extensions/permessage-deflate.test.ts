import { randomBytes } from 'node:crypto';
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import t from 'tap';
import type { Role } from '../../src/constants.js';
import { ErrorCode } from '../../src/errors.js';
import { parseExtensions, type ExtensionOffer } from '../../src/extensions/extension-header.js';
import { PerMessageDeflate } from '../../src/index.js';
import {
  acceptDeflateResponse,
  deflateOffer,
  negotiateDeflate,
  type DeflateParams,
  type PerMessageDeflateOptions,
} from '../../src/extensions/permessage-deflate.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const TAIL = hex('00 00 ff ff');

const TAKEOVER: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};
const NO_TAKEOVER: DeflateParams = { ...TAKEOVER, serverNoContextTakeover: true, clientNoContextTakeover: true };

function offer(header: string): ExtensionOffer {
  const [first] = parseExtensions(header);
  if (first === undefined) throw new Error(`no offer in ${header}`);
  return first;
}

function peerOf(role: Role): Role {
  return role === 'server' ? 'client' : 'server';
}

t.test('RFC 7692 §7.1: client offer', async (t) => {
  t.test('client offers with defaults: bare client_max_window_bits so the server may limit it', async (t) => {
    t.equal(deflateOffer(), 'permessage-deflate; client_max_window_bits');
  });

  t.test('client offers every parameter', async (t) => {
    t.equal(
      deflateOffer({
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 12,
      }),
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
  });

  t.test('client options with window bits outside 8..15: ERR_WS_INVALID_ARGUMENT', async (t) => {
    for (const bits of [7, 16, 9.5, Number.NaN]) {
      t.throws(() => deflateOffer({ serverMaxWindowBits: bits }), { code: ErrorCode.invalidArgument });
      t.throws(() => deflateOffer({ clientMaxWindowBits: bits }), { code: ErrorCode.invalidArgument });
    }
  });
});

t.test('RFC 7692 §5, §7.1: server negotiation', async (t) => {
  const negotiate = (header: string, options: PerMessageDeflateOptions = {}) =>
    negotiateDeflate(parseExtensions(header), options);

  t.test('server receives a bare offer: accepts with server_no_context_takeover by default', async (t) => {
    t.same(negotiate('permessage-deflate'), {
      params: { ...TAKEOVER, serverNoContextTakeover: true },
      response: 'permessage-deflate; server_no_context_takeover',
    });
  });

  t.test('server with serverNoContextTakeover false: accepts with an empty parameter list', async (t) => {
    t.same(negotiate('permessage-deflate', { serverNoContextTakeover: false }), {
      params: TAKEOVER,
      response: 'permessage-deflate',
    });
  });

  t.test('server receives server_no_context_takeover: honours it whatever its own preference', async (t) => {
    t.same(negotiate('permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: false }), {
      params: { ...TAKEOVER, serverNoContextTakeover: true },
      response: 'permessage-deflate; server_no_context_takeover',
    });
  });

  t.test('server receives client_no_context_takeover: echoes it', async (t) => {
    t.same(negotiate('permessage-deflate; client_no_context_takeover', { serverNoContextTakeover: false }), {
      params: { ...TAKEOVER, clientNoContextTakeover: true },
      response: 'permessage-deflate; client_no_context_takeover',
    });
  });

  t.test('server with clientNoContextTakeover: imposes it on a bare offer', async (t) => {
    t.same(negotiate('permessage-deflate', { serverNoContextTakeover: false, clientNoContextTakeover: true }), {
      params: { ...TAKEOVER, clientNoContextTakeover: true },
      response: 'permessage-deflate; client_no_context_takeover',
    });
  });

  t.test('server receives server_max_window_bits=10: answers the same value', async (t) => {
    t.same(negotiate('permessage-deflate; server_max_window_bits=10', { serverNoContextTakeover: false }), {
      params: { ...TAKEOVER, serverMaxWindowBits: 10 },
      response: 'permessage-deflate; server_max_window_bits=10',
    });
  });

  t.test('server receives server_max_window_bits=10 with its own limit 9: answers the smaller', async (t) => {
    t.same(negotiate('permessage-deflate; server_max_window_bits=10', { serverNoContextTakeover: false, serverMaxWindowBits: 9 }), {
      params: { ...TAKEOVER, serverMaxWindowBits: 9 },
      response: 'permessage-deflate; server_max_window_bits=9',
    });
  });

  t.test('server receives server_max_window_bits=8: accepts 8', async (t) => {
    t.equal(negotiate('permessage-deflate; server_max_window_bits=8')?.params.serverMaxWindowBits, 8);
  });

  t.test('server with serverMaxWindowBits 11 and a bare offer: announces 11 unasked (§7.1.2.1)', async (t) => {
    t.same(negotiate('permessage-deflate', { serverNoContextTakeover: false, serverMaxWindowBits: 11 }), {
      params: { ...TAKEOVER, serverMaxWindowBits: 11 },
      response: 'permessage-deflate; server_max_window_bits=11',
    });
  });

  t.test('server receives bare client_max_window_bits with its own limit 10: answers 10', async (t) => {
    t.same(negotiate('permessage-deflate; client_max_window_bits', { serverNoContextTakeover: false, clientMaxWindowBits: 10 }), {
      params: { ...TAKEOVER, clientMaxWindowBits: 10 },
      response: 'permessage-deflate; client_max_window_bits=10',
    });
  });

  t.test('server receives client_max_window_bits=9 with its own limit 12: answers the smaller', async (t) => {
    t.same(negotiate('permessage-deflate; client_max_window_bits=9', { serverNoContextTakeover: false, clientMaxWindowBits: 12 }), {
      params: { ...TAKEOVER, clientMaxWindowBits: 9 },
      response: 'permessage-deflate; client_max_window_bits=9',
    });
  });

  t.test('server receives client_max_window_bits=9 with no limit of its own: echoes 9', async (t) => {
    t.same(negotiate('permessage-deflate; client_max_window_bits=9', { serverNoContextTakeover: false }), {
      params: { ...TAKEOVER, clientMaxWindowBits: 9 },
      response: 'permessage-deflate; client_max_window_bits=9',
    });
  });

  t.test('server receives bare client_max_window_bits and has no limit: leaves it out', async (t) => {
    t.same(negotiate('permessage-deflate; client_max_window_bits', { serverNoContextTakeover: false }), {
      params: TAKEOVER,
      response: 'permessage-deflate',
    });
  });

  t.test('server limits the client window but the offer lacks client_max_window_bits: accepts with 15, says nothing (§7.1.2.2)', async (t) => {
    t.same(negotiate('permessage-deflate', { serverNoContextTakeover: false, clientMaxWindowBits: 10 }), {
      params: TAKEOVER,
      response: 'permessage-deflate',
    });
  });

  t.test('server receives all four parameters: answers all four', async (t) => {
    t.same(
      negotiate(
        'permessage-deflate; client_max_window_bits=11; server_max_window_bits=12; client_no_context_takeover; server_no_context_takeover',
      ),
      {
        params: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 11 },
        response:
          'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11',
      },
    );
  });

  t.test('server receives a quoted window size: accepts it (RFC 6455 §9.1 unescaping)', async (t) => {
    t.equal(negotiate('permessage-deflate; server_max_window_bits="10"')?.params.serverMaxWindowBits, 10);
  });

  t.test('server declines invalid offers (RFC 7692 §5)', async (t) => {
    const invalid: [string, string][] = [
      ['permessage-deflate; x_unknown', 'an unknown parameter'],
      ['permessage-deflate; Server_No_Context_Takeover', 'a parameter in the wrong case'],
      ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', 'a repeated flag'],
      ['permessage-deflate; client_max_window_bits=10; client_max_window_bits=10', 'a repeated value'],
      ['permessage-deflate; server_no_context_takeover=1', 'a value on server_no_context_takeover'],
      ['permessage-deflate; client_no_context_takeover=x', 'a value on client_no_context_takeover'],
      ['permessage-deflate; server_max_window_bits', 'server_max_window_bits without a value'],
      ['permessage-deflate; server_max_window_bits=7', 'server_max_window_bits below 8'],
      ['permessage-deflate; server_max_window_bits=16', 'server_max_window_bits above 15'],
      ['permessage-deflate; server_max_window_bits=08', 'a leading zero'],
      ['permessage-deflate; server_max_window_bits=+9', 'a sign'],
      ['permessage-deflate; server_max_window_bits=9.0', 'a decimal point'],
      ['permessage-deflate; client_max_window_bits=0', 'client_max_window_bits 0'],
      ['permessage-deflate; client_max_window_bits=abc', 'client_max_window_bits not a number'],
    ];
    for (const [header, why] of invalid) {
      t.equal(negotiate(header), undefined, `${why}: ${header}`);
    }
  });

  t.test('server declines an invalid offer and accepts the next, in client order', async (t) => {
    t.same(
      negotiate('permessage-deflate; server_max_window_bits=7, permessage-deflate; server_max_window_bits=9, permessage-deflate'),
      {
        params: { ...TAKEOVER, serverNoContextTakeover: true, serverMaxWindowBits: 9 },
        response: 'permessage-deflate; server_no_context_takeover; server_max_window_bits=9',
      },
    );
  });

  t.test('server skips other extensions', async (t) => {
    t.equal(negotiate('x-webkit-deflate-frame, permessage-deflate')?.response, 'permessage-deflate; server_no_context_takeover');
    t.equal(negotiate('x-webkit-deflate-frame; no_context_takeover'), undefined);
  });

  t.test('server receives no offer: undefined', async (t) => {
    t.equal(negotiateDeflate([], {}), undefined);
  });
});

t.test('RFC 7692 §5, §7.1: client validation of the response', async (t) => {
  t.test('client receives a bare acceptance: full windows, context takeover', async (t) => {
    t.same(acceptDeflateResponse(offer('permessage-deflate'), {}), TAKEOVER);
  });

  t.test('client receives server_no_context_takeover unasked: accepts (§7.1.1.1)', async (t) => {
    t.same(acceptDeflateResponse(offer('permessage-deflate; server_no_context_takeover'), {}), {
      ...TAKEOVER,
      serverNoContextTakeover: true,
    });
  });

  t.test('client receives client_no_context_takeover: must not use takeover', async (t) => {
    t.same(acceptDeflateResponse(offer('permessage-deflate; client_no_context_takeover'), {}), {
      ...TAKEOVER,
      clientNoContextTakeover: true,
    });
  });

  t.test('client offered client_no_context_takeover and the server left it out: still no takeover', async (t) => {
    t.same(acceptDeflateResponse(offer('permessage-deflate'), { clientNoContextTakeover: true }), {
      ...TAKEOVER,
      clientNoContextTakeover: true,
    });
  });

  t.test('client receives server_max_window_bits unasked: accepts it', async (t) => {
    t.equal(acceptDeflateResponse(offer('permessage-deflate; server_max_window_bits=10'), {}).serverMaxWindowBits, 10);
  });

  t.test('client asked server_max_window_bits=10 and receives 9: accepts the smaller', async (t) => {
    t.equal(
      acceptDeflateResponse(offer('permessage-deflate; server_max_window_bits=9'), { serverMaxWindowBits: 10 }).serverMaxWindowBits,
      9,
    );
  });

  t.test('client receives client_max_window_bits=10: limits itself to 10', async (t) => {
    t.equal(acceptDeflateResponse(offer('permessage-deflate; client_max_window_bits=10'), {}).clientMaxWindowBits, 10);
  });

  t.test('client offered client_max_window_bits=9 and receives 12: keeps 9 (the server may ignore the hint)', async (t) => {
    t.equal(
      acceptDeflateResponse(offer('permessage-deflate; client_max_window_bits=12'), { clientMaxWindowBits: 9 }).clientMaxWindowBits,
      9,
    );
  });

  t.test('client receives all four parameters', async (t) => {
    t.same(
      acceptDeflateResponse(
        offer('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=8; client_max_window_bits=8'),
        { serverNoContextTakeover: true, serverMaxWindowBits: 8 },
      ),
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 8, clientMaxWindowBits: 8 },
    );
  });

  t.test('client fails the connection with 1010 (ERR_WS_INVALID_EXTENSION)', async (t) => {
    const failing: [string, PerMessageDeflateOptions, string][] = [
      ['x-other', {}, 'another extension'],
      ['permessage-deflate; x_unknown', {}, 'an unknown parameter'],
      ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}, 'a repeated parameter'],
      ['permessage-deflate; server_no_context_takeover=1', {}, 'a value on a flag'],
      ['permessage-deflate; client_no_context_takeover=1', {}, 'a value on a flag'],
      ['permessage-deflate; server_max_window_bits', {}, 'server_max_window_bits without a value'],
      ['permessage-deflate; server_max_window_bits=16', {}, 'server_max_window_bits above 15'],
      ['permessage-deflate; client_max_window_bits', {}, 'client_max_window_bits without a value'],
      ['permessage-deflate; client_max_window_bits=7', {}, 'client_max_window_bits below 8'],
      ['permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }, 'a larger server window than asked'],
      ['permessage-deflate', { serverMaxWindowBits: 10 }, 'server_max_window_bits asked and not answered'],
      ['permessage-deflate', { serverNoContextTakeover: true }, 'server_no_context_takeover asked and not answered'],
    ];
    for (const [header, options, why] of failing) {
      t.throws(
        () => acceptDeflateResponse(offer(header), options),
        { name: 'WebSocketError', code: ErrorCode.invalidExtension, closeCode: 1010 },
        `${why}: ${header}`,
      );
    }
  });

  t.test('the error says what was wrong', async (t) => {
    t.throws(() => acceptDeflateResponse(offer('permessage-deflate; server_max_window_bits=11'), { serverMaxWindowBits: 10 }), {
      message: 'Invalid permessage-deflate response: server_max_window_bits=11 exceeds the 10 we offered',
    });
  });

  t.test('both sides agree on the parameters for any pair of options', async (t) => {
    const bits = fc.option(fc.integer({ min: 8, max: 15 }), { nil: undefined });
    const side = fc.record(
      {
        serverNoContextTakeover: fc.boolean(),
        clientNoContextTakeover: fc.boolean(),
        serverMaxWindowBits: bits,
        clientMaxWindowBits: bits,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(side, side, (clientOptions, serverOptions) => {
        const client = withoutUndefined(clientOptions);
        const server = withoutUndefined(serverOptions);
        const negotiated = negotiateDeflate(parseExtensions(deflateOffer(client)), server);
        if (negotiated === undefined) return false;
        const clientView = acceptDeflateResponse(offer(negotiated.response), client);
        t.same(clientView, negotiated.params);
        return true;
      }),
    );
  });
});

function withoutUndefined(options: Record<string, boolean | number | undefined>): PerMessageDeflateOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as PerMessageDeflateOptions;
}

t.test('RFC 7692 §7.2.3: examples', async (t) => {
  const hello = Buffer.from('Hello');

  t.test('§7.2.3.1: server compresses "Hello" to f2 48 cd c9 c9 07 00', async (t) => {
    const server = new PerMessageDeflate('server', NO_TAKEOVER);
    t.same(server.compress(hello), hex('f2 48 cd c9 c9 07 00'));
  });

  t.test('§7.2.3.1: client inflates f2 48 cd c9 c9 07 00 to "Hello"', async (t) => {
    const client = new PerMessageDeflate('client', NO_TAKEOVER);
    t.equal(client.decompress(hex('f2 48 cd c9 c9 07 00'), true).toString(), 'Hello');
  });

  t.test('§7.2.3.1: client inflates the example split into two frames at every point', async (t) => {
    const payload = hex('f2 48 cd c9 c9 07 00');
    for (let split = 0; split <= payload.length; split++) {
      const client = new PerMessageDeflate('client', NO_TAKEOVER);
      const first = client.decompress(payload.subarray(0, split), false);
      const second = client.decompress(payload.subarray(split), true);
      t.equal(Buffer.concat([first, second]).toString(), 'Hello', `split at ${split}`);
    }
  });

  t.test('§7.2.3.2: with context takeover the second "Hello" is f2 00 11 00 00', async (t) => {
    const server = new PerMessageDeflate('server', TAKEOVER);
    t.same(server.compress(hello), hex('f2 48 cd c9 c9 07 00'));
    t.same(server.compress(hello), hex('f2 00 11 00 00'));
  });

  t.test('§7.2.3.2: client inflates both messages sharing the window', async (t) => {
    const client = new PerMessageDeflate('client', TAKEOVER);
    t.equal(client.decompress(hex('f2 48 cd c9 c9 07 00'), true).toString(), 'Hello');
    t.equal(client.decompress(hex('f2 00 11 00 00'), true).toString(), 'Hello');
  });

  t.test('server with server_no_context_takeover: the second "Hello" compresses alone again', async (t) => {
    const server = new PerMessageDeflate('server', { ...TAKEOVER, serverNoContextTakeover: true });
    t.same(server.compress(hello), hex('f2 48 cd c9 c9 07 00'));
    t.same(server.compress(hello), hex('f2 48 cd c9 c9 07 00'));
  });

  t.test('client with client_no_context_takeover: the second "Hello" compresses alone again', async (t) => {
    const client = new PerMessageDeflate('client', { ...TAKEOVER, clientNoContextTakeover: true });
    t.same(client.compress(hello), hex('f2 48 cd c9 c9 07 00'));
    t.same(client.compress(hello), hex('f2 48 cd c9 c9 07 00'));
  });

  t.test('client receives §7.2.3.2 second message without the first: fails with 1007', async (t) => {
    const client = new PerMessageDeflate('client', TAKEOVER);
    t.throws(() => client.decompress(hex('f2 00 11 00 00'), true), {
      code: ErrorCode.invalidCompressedData,
      closeCode: 1007,
      message: 'invalid compressed data: invalid distance too far back',
    });
  });

  t.test('§7.2.3.3: client inflates a block with no compression', async (t) => {
    const client = new PerMessageDeflate('client', NO_TAKEOVER);
    t.equal(client.decompress(hex('00 05 00 fa ff 48 65 6c 6c 6f 00'), true).toString(), 'Hello');
  });

  t.test('§7.2.3.4: client inflates a block with BFINAL set, then the next message', async (t) => {
    const client = new PerMessageDeflate('client', TAKEOVER);
    t.equal(client.decompress(hex('f3 48 cd c9 c9 07 00 00'), true).toString(), 'Hello');
    t.equal(client.decompress(hex('f2 48 cd c9 c9 07 00'), true).toString(), 'Hello');
  });

  t.test('§7.2.3.4: data after the final block in later frames of the message is ignored', async (t) => {
    const client = new PerMessageDeflate('client', NO_TAKEOVER);
    t.equal(client.decompress(hex('f3 48 cd c9 c9 07 00'), false).toString(), 'Hello');
    t.equal(client.decompress(hex('ff ff ff'), true).length, 0);
  });

  t.test('§7.2.3.5: client inflates two deflate blocks in one message', async (t) => {
    const client = new PerMessageDeflate('client', NO_TAKEOVER);
    t.equal(client.decompress(hex('f2 48 05 00 00 00 ff ff ca c9 c9 07 00'), true).toString(), 'Hello');
  });

  t.test('§7.2.3.5: server compresses "He" and "llo" as two fragments to that message: f2 48 05 00 00 00 ff ff | ca c9 c9 07 00', async (t) => {
    const server = new PerMessageDeflate('server', NO_TAKEOVER);
    t.same(server.compressFragment(Buffer.from('He'), false), hex('f2 48 05 00 00 00 ff ff'), 'a fragment keeps the 00 00 ff ff of its sync flush');
    t.same(server.compressFragment(Buffer.from('llo'), true), hex('ca c9 c9 07 00'), 'the last drops it (§7.2.1)');
    const client = new PerMessageDeflate('client', NO_TAKEOVER);
    t.equal(client.decompress(hex('f2 48 05 00 00 00 ff ff'), false).toString() + client.decompress(hex('ca c9 c9 07 00'), true).toString(), 'Hello');
  });

  t.test('§7.2.3.6: an empty message compresses to 00 and inflates back to nothing', async (t) => {
    const server = new PerMessageDeflate('server', TAKEOVER);
    t.same(server.compress(Buffer.alloc(0)), hex('00'));
    const client = new PerMessageDeflate('client', TAKEOVER);
    t.same(client.decompress(hex('00'), true), Buffer.alloc(0));
  });

  t.test('§7.2.3.6: consecutive empty messages with context takeover are each 00', async (t) => {
    const server = new PerMessageDeflate('server', TAKEOVER);
    const client = new PerMessageDeflate('client', TAKEOVER);
    for (const text of ['', '', 'Hello', '', 'Hello']) {
      const payload = server.compress(Buffer.from(text));
      if (text === '') t.same(payload, hex('00'));
      t.equal(client.decompress(payload, true).toString(), text);
    }
  });
});

t.test('RFC 7692 §7.2.2: decompression', async (t) => {
  t.test('each frame returns the bytes it inflated to, before the message ends', async (t) => {
    const message = Buffer.from('pub/sub '.repeat(20_000));
    const compressed = new PerMessageDeflate('client', NO_TAKEOVER).compress(message);
    const server = new PerMessageDeflate('server', NO_TAKEOVER);
    const half = compressed.length >> 1;
    const first = server.decompress(compressed.subarray(0, half), false);
    t.ok(first.length > 0, 'the first half inflated already');
    const second = server.decompress(compressed.subarray(half), true);
    t.same(Buffer.concat([first, second]), message);
  });

  t.test('client receives corrupt data: ERR_WS_INVALID_COMPRESSED_DATA with 1007', async (t) => {
    const client = new PerMessageDeflate('client', NO_TAKEOVER);
    t.throws(() => client.decompress(hex('ff'), true), {
      name: 'WebSocketError',
      code: ErrorCode.invalidCompressedData,
      closeCode: 1007,
      message: 'invalid compressed data: invalid block type',
    });
  });

  t.test('server receives a stored block whose length check fails: 1007', async (t) => {
    const server = new PerMessageDeflate('server', NO_TAKEOVER);
    t.throws(() => server.decompress(hex('00 05 00 00 00 48 65 6c 6c 6f'), true), {
      code: ErrorCode.invalidCompressedData,
      closeCode: 1007,
    });
  });

  t.test('corrupt data in a later frame fails at that frame', async (t) => {
    const server = new PerMessageDeflate('server', NO_TAKEOVER);
    t.equal(server.decompress(hex('f2 48 05 00 00 00 ff ff'), false).toString(), 'He');
    t.throws(() => server.decompress(hex('ff ff'), true), { code: ErrorCode.invalidCompressedData });
  });

  t.test('a message of exactly maxInflatedSize passes; one byte more fails with 1009', async (t) => {
    const limit = 100_000;
    const sender = new PerMessageDeflate('client', NO_TAKEOVER);
    const receiver = new PerMessageDeflate('server', NO_TAKEOVER, { maxInflatedSize: limit });
    t.equal(receiver.decompress(sender.compress(Buffer.alloc(limit, 7)), true).length, limit);
    t.throws(() => receiver.decompress(sender.compress(Buffer.alloc(limit + 1, 7)), true), {
      code: ErrorCode.messageTooBig,
      closeCode: 1009,
      message: 'message inflates to more than maxInflatedSize (100000 bytes)',
    });
  });

  t.test('the limit counts the whole message across frames', async (t) => {
    const sender = new PerMessageDeflate('client', NO_TAKEOVER);
    const receiver = new PerMessageDeflate('server', NO_TAKEOVER, { maxInflatedSize: 150_000 });
    const compressed = sender.compress(randomBytes(200_000));
    const cut = compressed.length >> 1;
    t.ok(receiver.decompress(compressed.subarray(0, cut), false).length <= 150_000);
    t.throws(() => receiver.decompress(compressed.subarray(cut), true), { code: ErrorCode.messageTooBig });
  });

  t.test('the limit restarts with each message', async (t) => {
    const sender = new PerMessageDeflate('client', TAKEOVER);
    const receiver = new PerMessageDeflate('server', TAKEOVER, { maxInflatedSize: 1000 });
    for (let i = 0; i < 5; i++) {
      t.equal(receiver.decompress(sender.compress(Buffer.alloc(1000, i)), true).length, 1000);
    }
  });

  t.test('zip bomb: 1 GiB of zeros in about 1 MiB stops at maxInflatedSize without inflating it all', async (t) => {
    // A deflate stream of zeros, then the same sync-flushed block 1023 more times: each block only
    // refers back into zeros, so the concatenation stays valid and inflates to 1024 x 1 MiB.
    const mebibyte = 1024 * 1024;
    const flush = { finishFlush: zlibConstants.Z_SYNC_FLUSH, level: 9 };
    const first = deflateRawSync(Buffer.alloc(mebibyte), flush);
    const repeat = deflateRawSync(Buffer.alloc(mebibyte), { ...flush, dictionary: Buffer.alloc(32 * 1024) });
    const bomb = Buffer.concat([first, ...Array.from({ length: 1023 }, () => repeat)]);
    t.ok(bomb.length < 1.1 * mebibyte, `bomb is ${bomb.length} bytes`);

    const server = new PerMessageDeflate('server', NO_TAKEOVER, { maxInflatedSize: mebibyte });
    const peakBefore = process.resourceUsage().maxRSS;
    t.throws(() => server.decompress(bomb, true), { code: ErrorCode.messageTooBig, closeCode: 1009 });
    // maxRSS is the peak resident size in KiB: it cannot hide an allocation behind a garbage collection.
    const peakGrowthMiB = (process.resourceUsage().maxRSS - peakBefore) / 1024;
    t.ok(peakGrowthMiB < 64, `peak memory grew by ${peakGrowthMiB.toFixed(1)} MiB, not by the 1 GiB it inflates to`);
  });

  t.test('zip bomb fed in small frames fails at the frame that crosses the limit', async (t) => {
    const flush = { finishFlush: zlibConstants.Z_SYNC_FLUSH, level: 9 };
    const bomb = deflateRawSync(Buffer.alloc(8 * 1024 * 1024), flush);
    const server = new PerMessageDeflate('server', NO_TAKEOVER, { maxInflatedSize: 1024 * 1024 });
    let offset = 0;
    let inflated = 0;
    t.throws(() => {
      for (; offset < bomb.length; offset += 64) {
        inflated += server.decompress(bomb.subarray(offset, offset + 64), offset + 64 >= bomb.length).length;
      }
    }, { code: ErrorCode.messageTooBig });
    t.ok(inflated <= 1024 * 1024, `delivered ${inflated} bytes before failing`);
    t.ok(offset + 64 < bomb.length, 'failed before the last frame');
  });
});

t.test('RFC 7692 §7.1.2: window sizes 8..15', async (t) => {
  /**
   * An independent check that every match distance fits the negotiated window: zlib's inflater with
   * exactly that window and a 64-byte output buffer (zlib's minimum) must accept the whole session,
   * messages joined back into one deflate stream. zlib only rejects "distance too far back" beyond the
   * window plus the current output buffer, hence the tiny buffer; the data below repeats at a distance
   * of window + 100 bytes, which a deflater that ignored the limit would use.
   */
  function inflateStrict(messages: Uint8Array[], bits: number): Buffer {
    return inflateRawSync(Buffer.concat(messages.flatMap((message) => [message, TAIL])), {
      windowBits: bits,
      chunkSize: 64,
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    });
  }

  t.test('the strict check rejects a 15-bit window used where 8 was negotiated', async (t) => {
    const block = randomBytes(256 + 100);
    const compressed = deflateRawSync(Buffer.concat([block, block]), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    t.throws(() => inflateStrict([compressed.subarray(0, -4)], 8), { code: 'Z_DATA_ERROR' });
  });

  for (let bits = 8; bits <= 15; bits++) {
    for (const role of ['server', 'client'] as const) {
      for (const takeover of [true, false]) {
        t.test(`${role} sends with ${role}_max_window_bits=${bits}, ${takeover ? 'context takeover' : 'no context takeover'}: round trip within the window`, async (t) => {
          const params: DeflateParams = {
            serverNoContextTakeover: !takeover,
            clientNoContextTakeover: !takeover,
            serverMaxWindowBits: bits,
            clientMaxWindowBits: bits,
          };
          const block = randomBytes((1 << bits) + 100);
          const messages = [Buffer.concat([block, block, block]), block, Buffer.from('Hello'), block];
          const sender = new PerMessageDeflate(role, params, { threshold: 0 });
          const receiver = new PerMessageDeflate(peerOf(role), params);
          const compressed = messages.map((message) => sender.compress(message));
          t.same(
            compressed.map((payload) => receiver.decompress(payload, true)),
            messages,
          );
          if (takeover) {
            t.same(inflateStrict(compressed, bits), Buffer.concat(messages));
          } else {
            for (const [i, payload] of compressed.entries()) t.same(inflateStrict([payload], bits), messages[i]);
          }
        });
      }
    }
  }

  t.test('context takeover shrinks a repeated message', async (t) => {
    const sender = new PerMessageDeflate('server', TAKEOVER);
    const message = randomBytes(1000);
    const first = sender.compress(message);
    const second = sender.compress(message);
    t.ok(second.length < 20 && first.length > 1000, `${first.length} then ${second.length} bytes`);
  });
});

t.test('round trips across random frame splits (property)', async (t) => {
  const params = fc.record({
    serverNoContextTakeover: fc.boolean(),
    clientNoContextTakeover: fc.boolean(),
    serverMaxWindowBits: fc.integer({ min: 8, max: 15 }),
    clientMaxWindowBits: fc.integer({ min: 8, max: 15 }),
  });
  // A small alphabet makes messages compressible, so matches (and cross-message matches) occur.
  const message = fc.oneof(
    fc.uint8Array({ maxLength: 3000 }),
    fc.array(fc.constantFrom(...Buffer.from('pub/sub topic:')), { maxLength: 6000 }).map((bytes) => Uint8Array.from(bytes)),
  );
  const session = fc.array(
    fc.record({ message, splits: fc.array(fc.nat(), { maxLength: 6 }) }),
    { minLength: 1, maxLength: 6 },
  );
  fc.assert(
    fc.property(params, fc.constantFrom<Role>('server', 'client'), session, (negotiated, role, messages) => {
      const sender = new PerMessageDeflate(role, negotiated);
      const receiver = new PerMessageDeflate(peerOf(role), negotiated);
      try {
        for (const { message: bytes, splits } of messages) {
          const original = Buffer.from(bytes);
          const payload = sender.compress(original);
          const cuts = [...new Set(splits.map((cut) => cut % (payload.length + 1)))].sort((a, b) => a - b);
          const bounds = [0, ...cuts, payload.length];
          const output: Uint8Array[] = [];
          for (let i = 1; i < bounds.length; i++) {
            output.push(receiver.decompress(payload.subarray(bounds[i - 1], bounds[i]), i === bounds.length - 1));
          }
          if (!Buffer.concat(output).equals(original)) return false;
        }
        return true;
      } finally {
        sender.close();
        receiver.close();
      }
    }),
    { numRuns: 300 },
  );
  t.pass('compress then decompress is the identity');
});

t.test('PerMessageDeflate options and lifecycle', async (t) => {
  t.test('threshold defaults to 1024 and can be set', async (t) => {
    t.equal(new PerMessageDeflate('server', NO_TAKEOVER).threshold, 1024);
    t.equal(new PerMessageDeflate('server', NO_TAKEOVER, { threshold: 0 }).threshold, 0);
  });

  t.test('level 0 sends the §7.2.3.3 block with no compression', async (t) => {
    const server = new PerMessageDeflate('server', NO_TAKEOVER, { level: 0 });
    t.same(server.compress(Buffer.from('Hello')), hex('00 05 00 fa ff 48 65 6c 6c 6f 00'));
  });

  t.test('invalid options: ERR_WS_INVALID_ARGUMENT', async (t) => {
    const invalid: [DeflateParams, ConstructorParameters<typeof PerMessageDeflate>[2]][] = [
      [{ ...NO_TAKEOVER, serverMaxWindowBits: 16 }, {}],
      [{ ...NO_TAKEOVER, clientMaxWindowBits: 7 }, {}],
      [NO_TAKEOVER, { level: 10 }],
      [NO_TAKEOVER, { level: -2 }],
      [NO_TAKEOVER, { memLevel: 0 }],
      [NO_TAKEOVER, { memLevel: 10 }],
      [NO_TAKEOVER, { threshold: -1 }],
      [NO_TAKEOVER, { maxInflatedSize: 0 }],
    ];
    for (const [params, options] of invalid) {
      t.throws(() => new PerMessageDeflate('server', params, options), { code: ErrorCode.invalidArgument }, JSON.stringify({ params, options }));
    }
  });

  t.test('after close, compress and decompress throw ERR_WS_NOT_OPEN; close is idempotent', async (t) => {
    const server = new PerMessageDeflate('server', TAKEOVER);
    server.compress(Buffer.from('Hello'));
    server.decompress(hex('f2 48 cd c9 c9 07 00'), true);
    server.close();
    server.close();
    t.throws(() => server.compress(Buffer.from('Hello')), { code: ErrorCode.notOpen });
    t.throws(() => server.decompress(hex('00'), true), { code: ErrorCode.notOpen });
  });
});

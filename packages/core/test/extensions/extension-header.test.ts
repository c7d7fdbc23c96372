import t from 'tap';
import { ErrorCode, WebSocketError } from '../../src/errors.js';
import {
  formatExtension,
  isToken,
  parseExtensions,
  type ExtensionOffer,
} from '../../src/extensions/extension-header.js';

/** Plain objects compare more readably than Maps in tap's diffs. */
function plain(offers: ExtensionOffer[]): { name: string; params: Record<string, string | true>; duplicateParams: string[] }[] {
  return offers.map((offer) => ({
    name: offer.name,
    params: Object.fromEntries(offer.params),
    duplicateParams: offer.duplicateParams,
  }));
}

t.test('RFC 6455 §9.1: parsing valid headers', async (t) => {
  t.test('a bare extension token', async (t) => {
    t.same(plain(parseExtensions('permessage-deflate')), [
      { name: 'permessage-deflate', params: {}, duplicateParams: [] },
    ]);
  });

  t.test('parameters with and without values, in order', async (t) => {
    const [offer] = parseExtensions('permessage-deflate; client_max_window_bits; server_max_window_bits=10');
    t.same([...(offer?.params ?? [])], [
      ['client_max_window_bits', true],
      ['server_max_window_bits', '10'],
    ]);
  });

  t.test('several offers keep the client preference order', async (t) => {
    t.same(
      plain(parseExtensions('permessage-deflate; server_max_window_bits=10, permessage-deflate, x-foo')).map(
        (offer) => offer.name,
      ),
      ['permessage-deflate', 'permessage-deflate', 'x-foo'],
    );
  });

  t.test('a repeated header (string[]) concatenates as one list', async (t) => {
    t.same(
      plain(parseExtensions(['permessage-deflate; client_no_context_takeover', 'x-foo; a=1'])),
      [
        { name: 'permessage-deflate', params: { client_no_context_takeover: true }, duplicateParams: [] },
        { name: 'x-foo', params: { a: '1' }, duplicateParams: [] },
      ],
    );
  });

  t.test('no header (empty array): no offers', async (t) => {
    t.same(parseExtensions([]), []);
  });

  t.test('optional white space around every separator, spaces and tabs', async (t) => {
    t.same(plain(parseExtensions(' \tfoo \t; a \t= \t1\t ;b ,\tbar ')), [
      { name: 'foo', params: { a: '1', b: true }, duplicateParams: [] },
      { name: 'bar', params: {}, duplicateParams: [] },
    ]);
  });

  t.test('RFC 7230 §7: empty list elements are skipped', async (t) => {
    t.same(
      plain(parseExtensions(', foo,, ,bar ,')).map((offer) => offer.name),
      ['foo', 'bar'],
    );
  });

  t.test('a quoted value is unescaped', async (t) => {
    const [offer] = parseExtensions('permessage-deflate; client_max_window_bits="10"; x="a\\b"');
    t.equal(offer?.params.get('client_max_window_bits'), '10');
    t.equal(offer?.params.get('x'), 'ab');
  });

  t.test('a repeated parameter keeps its first value and is reported once', async (t) => {
    t.same(plain(parseExtensions('permessage-deflate; server_max_window_bits=10; a; server_max_window_bits=11; server_max_window_bits')), [
      {
        name: 'permessage-deflate',
        params: { server_max_window_bits: '10', a: true },
        duplicateParams: ['server_max_window_bits'],
      },
    ]);
  });

  t.test('names keep their case', async (t) => {
    const [offer] = parseExtensions('PerMessage-Deflate; Server_No_Context_Takeover');
    t.equal(offer?.name, 'PerMessage-Deflate');
    t.same([...(offer?.params.keys() ?? [])], ['Server_No_Context_Takeover']);
  });
});

t.test('RFC 6455 §9.1: malformed headers throw ERR_WS_INVALID_EXTENSION', async (t) => {
  const malformed: [string, string][] = [
    ['', 'empty header'],
    [' , ,', 'only empty elements'],
    ['foo bar', 'two tokens without a separator'],
    ['foo;', 'semicolon without a parameter'],
    ['foo; ;a', 'empty parameter'],
    ['foo; a=', 'equals without a value'],
    ['foo; =1', 'value without a name'],
    ['foo; a=1=2', 'two equals'],
    ['foo; a b', 'parameter name with a space'],
    ['foo; a="1', 'unterminated quoted-string'],
    ['foo; a="1 2"', 'quoted value that is not a token'],
    ['foo; a=""', 'empty quoted value'],
    ['foo; a="\\"', 'escape swallowing the closing quote'],
    ['foo; a="x\x01"', 'control character inside quotes'],
    ['foo; a="1"2', 'text after a quoted value'],
    ['fo"o', 'quote inside a token'],
    ['foo; a=1/2', 'separator inside a token value'],
    ['(foo)', 'separators instead of a token'],
    ['foo\r\n; a', 'line break'],
    ['föo', 'non-ASCII token'],
    [';a', 'parameter without an extension'],
  ];
  for (const [header, why] of malformed) {
    t.test(`${why}: ${JSON.stringify(header)}`, async (t) => {
      t.throws(() => parseExtensions(header), { name: 'WebSocketError', code: ErrorCode.invalidExtension });
    });
  }

  t.test('the error names the offset of the problem', async (t) => {
    t.throws(() => parseExtensions('foo bar'), {
      message: 'Invalid Sec-WebSocket-Extensions header: expected "," at offset 4',
    });
  });

  t.test('a malformed element in a repeated header fails the whole header', async (t) => {
    t.throws(() => parseExtensions(['foo', 'bar;']), WebSocketError);
  });
});

t.test('formatExtension', async (t) => {
  t.test('a bare name', async (t) => {
    t.equal(formatExtension('permessage-deflate'), 'permessage-deflate');
  });

  t.test('parameters from an iterable of pairs, in order', async (t) => {
    t.equal(
      formatExtension('permessage-deflate', [
        ['server_no_context_takeover', true],
        ['client_max_window_bits', '10'],
      ]),
      'permessage-deflate; server_no_context_takeover; client_max_window_bits=10',
    );
  });

  t.test('parameters from a parsed offer round-trip', async (t) => {
    const header = 'permessage-deflate; client_max_window_bits; server_max_window_bits=12';
    const [offer] = parseExtensions(header);
    t.equal(formatExtension(offer?.name ?? '', offer?.params), header);
  });

  t.test('a name, parameter or value that is not a token throws ERR_WS_INVALID_ARGUMENT', async (t) => {
    t.throws(() => formatExtension('a b'), { code: ErrorCode.invalidArgument });
    t.throws(() => formatExtension('x', [['a;b', true]]), { code: ErrorCode.invalidArgument });
    t.throws(() => formatExtension('x', [['a', '1 2']]), { code: ErrorCode.invalidArgument });
    t.throws(() => formatExtension('x', [['a', '']]), { code: ErrorCode.invalidArgument });
  });
});

t.test('isToken follows RFC 7230 tchar', async (t) => {
  t.ok(isToken("!#$%&'*+-.^_`|~09azAZ"));
  for (const separator of ['', ' ', '"', '(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}', '\t', '\x7f', 'é']) {
    t.notOk(isToken(separator), JSON.stringify(separator));
  }
});

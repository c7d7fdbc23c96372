import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  CloseCodeRange,
  HttpStatus,
  PROTOCOL_ERROR_CODES,
  PROTOCOL_ERROR_STATUSES,
  ProtocolCloseCode,
  ProtocolErrorCode,
  closeCodeOf,
  httpStatusOf,
  isRetryableError,
} from '../src/index.js';

/** The one table from an error code to its HTTP status and close code. */

const httpStatuses: readonly number[] = Object.values(HttpStatus);
const closeCodes: readonly number[] = Object.values(ProtocolCloseCode);

t.test('codes and numbers are unique', async (t) => {
  t.equal(new Set(PROTOCOL_ERROR_CODES).size, PROTOCOL_ERROR_CODES.length, 'error codes');
  t.equal(new Set(Object.keys(ProtocolErrorCode)).size, PROTOCOL_ERROR_CODES.length, 'one name per error code');
  t.equal(new Set(closeCodes).size, closeCodes.length, 'close codes');
  t.equal(new Set(httpStatuses).size, httpStatuses.length, 'HTTP statuses');
});

t.test('every error code has an HTTP status, and a close code only where it ends a connection', async (t) => {
  t.same(Object.keys(PROTOCOL_ERROR_STATUSES).sort(), [...PROTOCOL_ERROR_CODES].sort(), 'one row per code, no other rows');
  for (const code of PROTOCOL_ERROR_CODES) {
    const status = httpStatusOf(code);
    t.ok(httpStatuses.includes(status) && status >= 400 && status < 600, `${code}: HTTP ${status}`);
    const close = closeCodeOf(code);
    if (close === undefined) continue;
    t.ok(closeCodes.includes(close), `${code}: closes with ${close}, a code of the close code table`);
  }
});

t.test('the status tells whether to retry, as the Retryable column does', async (t) => {
  const retryLater: readonly number[] = [HttpStatus.requestTimeout, HttpStatus.tooManyRequests, HttpStatus.internalServerError, HttpStatus.serviceUnavailable];
  for (const code of PROTOCOL_ERROR_CODES) t.equal(retryLater.includes(httpStatusOf(code)), isRetryableError(code), code);
});

t.test('invalid input, and only invalid input, closes with protocol_violation', async (t) => {
  const violations = PROTOCOL_ERROR_CODES.filter((code) => closeCodeOf(code) === ProtocolCloseCode.protocolViolation);
  t.same(violations, [
    ProtocolErrorCode.malformed,
    ProtocolErrorCode.headerTooBig,
    ProtocolErrorCode.unknownOp,
    ProtocolErrorCode.badRequest,
    ProtocolErrorCode.chunkOutOfOrder,
    ProtocolErrorCode.chunkSizeMismatch,
    ProtocolErrorCode.unknownTransfer,
    ProtocolErrorCode.duplicateTransfer,
  ]);
  t.equal(closeCodeOf(ProtocolErrorCode.invalidToken), ProtocolCloseCode.unauthorized);
  t.equal(closeCodeOf(ProtocolErrorCode.tokenExpired), ProtocolCloseCode.tokenExpired);
  t.equal(closeCodeOf(ProtocolErrorCode.notSubscribed), undefined);
});

/** Rows of the markdown table that follows `heading`, up to the next heading: cells trimmed. */
function tableAfter(document: string, heading: string): string[][] {
  const start = document.indexOf(heading);
  const end = document.indexOf('\n#', start + heading.length);
  return document
    .slice(start, end === -1 ? undefined : end)
    .split('\n')
    .filter((line) => /^\|\s*\d{3}/.test(line))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
}

const codesIn = (cell: string): ProtocolErrorCode[] =>
  Array.from(cell.matchAll(/`([a-z_]+)`/g), (match) => match[1] as ProtocolErrorCode).filter((code) => PROTOCOL_ERROR_CODES.includes(code));

t.test('protocol.md §2.1: each handshake refusal answers its code\'s status (the wrong path is 404)', async (t) => {
  const spec = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');
  const rows = tableAfter(spec, '### 2.1 Handshake').filter((row) => codesIn(row[1] ?? '').length > 0);
  t.equal(rows.length, 5);
  for (const [status, cell] of rows) {
    const [code] = codesIn(cell ?? '');
    const expected = code === ProtocolErrorCode.badRequest ? HttpStatus.notFound : httpStatusOf(code!);
    t.equal(Number(status), expected, `${code}: ${status}`);
  }
});

t.test('operations.md POST /publish: each refusal answers its code\'s status', async (t) => {
  const operations = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
  const rows = tableAfter(operations, '### POST /publish').filter((row) => codesIn(row[1] ?? '').length > 0);
  t.ok(rows.length >= 6, 'found the refusals');
  for (const [status, cell] of rows) {
    for (const code of codesIn(cell ?? '')) t.equal(httpStatusOf(code), Number.parseInt(status ?? '', 10), `${code}: ${status}`);
  }
});

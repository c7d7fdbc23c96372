import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  CLIENT_OPS,
  type ClientChunkHeader,
  PROTOCOL_ERROR_CODES,
  ProtocolCloseCode,
  ProtocolLimit,
  SERVER_OPS,
  type ServerChunkHeader,
  closeCodeOf,
  decodeClientMessage,
  decodeServerMessage,
  encodeBinary,
  httpStatusOf,
  isRetryableError,
  reconnectAdvice,
} from '../src/index.js';

/**
 * docs/protocol.md is normative; these checks keep it and the code from drifting apart: every example
 * decodes, every op has an example, and the tables of codes and limits match the code's tables.
 */
const spec = readFileSync(new URL('../../../docs/protocol.md', import.meta.url), 'utf8');

/** Fenced blocks whose info string starts with `json`: ```json client, ```json chunk-header server, ... */
function examples(kind: string): string[] {
  const pattern = new RegExp('```json ' + kind + '\\n([\\s\\S]*?)\\n```', 'g');
  return Array.from(spec.matchAll(pattern), (match) => match[1] ?? '');
}

/** Rows of the markdown tables after `heading`, up to the next section: cells trimmed, header and separator rows dropped. */
function tableRows(heading: string, firstColumn: RegExp): string[][] {
  const start = spec.indexOf(heading);
  const end = spec.indexOf('\n## ', start + heading.length);
  const section = spec.slice(start, end === -1 ? undefined : end);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
    .filter((cells) => firstColumn.test(cells[0] ?? ''));
}

t.test('every example in protocol.md decodes', async (t) => {
  const seenClient = new Set<string>();
  const seenServer = new Set<string>();
  for (const json of examples('client')) {
    const decoded = decodeClientMessage(json);
    t.ok(decoded.ok, `client example decodes: ${json.slice(0, 60)}`);
    if (decoded.ok) seenClient.add(decoded.message.op);
  }
  for (const json of examples('server')) {
    const decoded = decodeServerMessage(json);
    t.ok(decoded.ok, `server example decodes: ${json.slice(0, 60)}`);
    if (decoded.ok) seenServer.add(decoded.message.op);
  }
  for (const json of examples('chunk-header client')) {
    const decoded = decodeClientMessage(encodeBinary(JSON.parse(json) as ClientChunkHeader, new Uint8Array([1])));
    t.ok(decoded.ok, `client chunk example decodes: ${json.slice(0, 60)}`);
    if (decoded.ok) seenClient.add(decoded.message.op);
  }
  for (const json of examples('chunk-header server')) {
    const decoded = decodeServerMessage(encodeBinary(JSON.parse(json) as ServerChunkHeader, new Uint8Array([1])));
    t.ok(decoded.ok, `server chunk example decodes: ${json.slice(0, 60)}`);
    if (decoded.ok) seenServer.add(decoded.message.op);
  }
  t.same([...seenClient].sort(), [...CLIENT_OPS].sort(), 'every client op has an example');
  t.same([...seenServer].sort(), [...SERVER_OPS].sort(), 'every server op has an example');
});

t.test('the error code table (§10) is the code table', async (t) => {
  const rows = tableRows('## 10. Error codes', /^`[a-z_]+`$/);
  t.same(rows.map((row) => row[0]?.replaceAll('`', '')), [...PROTOCOL_ERROR_CODES], 'same codes, same order');
  for (const row of rows) {
    const code = row[0]?.replaceAll('`', '') as (typeof PROTOCOL_ERROR_CODES)[number];
    t.equal(row[1] === 'yes', isRetryableError(code), `${code} retryable: ${row[1]}`);
  }
});

t.test('the HTTP and close columns of the error code table (§10) are the status table', async (t) => {
  const rows = tableRows('## 10. Error codes', /^`[a-z_]+`$/);
  t.equal(rows.length, PROTOCOL_ERROR_CODES.length);
  for (const row of rows) {
    const code = row[0]?.replaceAll('`', '') as (typeof PROTOCOL_ERROR_CODES)[number];
    t.equal(Number(row[2]), httpStatusOf(code), `${code}: HTTP ${row[2]}`);
    t.equal(row[3] === '' ? undefined : Number(row[3]), closeCodeOf(code), `${code}: closes with ${row[3] || 'nothing'}`);
  }
});

t.test('the close code tables (§11) are the code tables', async (t) => {
  const snake = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
  const brokerRows = tableRows('## 11. Close codes', /^4\d{3}$/);
  t.same(
    brokerRows.map((row) => [Number(row[0]), row[1]?.replaceAll('`', ''), row[2]]),
    Object.entries(ProtocolCloseCode).map(([name, code]) => [code, snake(name), reconnectAdvice(code)]),
  );
  const standardRows = tableRows('Standard codes (RFC 6455', /^1\d{3}$/);
  t.equal(standardRows.length, 15);
  for (const row of standardRows) t.equal(reconnectAdvice(Number(row[0])), row[2], `${row[0]}: ${row[2]}`);
});

t.test('the fixed limits (§12) are the code constants', async (t) => {
  const rows = tableRows('Fixed by the protocol', /^`max/);
  const documented = Object.fromEntries(rows.map((row) => [row[0]?.replaceAll('`', ''), Number(row[1])]));
  t.same(documented, {
    maxHeaderBytes: ProtocolLimit.maxHeaderBytes,
    maxTopicLength: ProtocolLimit.maxTopicLength,
    maxTopicSegments: ProtocolLimit.maxTopicSegments,
    maxKeyLength: ProtocolLimit.maxKeyLength,
    maxEpochLength: ProtocolLimit.maxEpochLength,
  });
});

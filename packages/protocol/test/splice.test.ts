import fc from 'fast-check';
import t from 'tap';
import {
  type DeliveryHeader,
  type EncodedHistoryData,
  type HistoryAnswerHead,
  type HistoryEntry,
  type PublishHeader,
  encodeHistoryAnswer,
  encodeText,
  encodeTextWithData,
  joinTextWithData,
} from '../src/index.js';

/**
 * The encoders that splice stored JSON text into a message instead of parsing and serializing it again.
 * Each is checked byte for byte against the splice the broker wrote by hand before they existed
 * (hub/delivery.ts and http/history.ts), reproduced here as the reference.
 */

const handSplicedDelivery = (header: object, text: string): string => `${JSON.stringify(header).slice(0, -1)},"data":${text}}`;

type StoredPayload = { readonly encoding: 'json'; readonly text: string } | { readonly encoding: 'binary'; readonly bytes: Uint8Array };
interface StoredPublication extends HistoryEntry {
  readonly payload: StoredPayload;
}

function handSplicedHistory(head: HistoryAnswerHead, publications: readonly StoredPublication[]): string {
  const publicationJson = ({ offset, epoch, priority, time, payload }: StoredPublication): string => {
    const entry = JSON.stringify({ offset, epoch, priority, time }).slice(0, -1);
    return payload.encoding === 'json'
      ? `${entry},"data":${payload.text}}`
      : `${entry},"dataBase64":"${Buffer.from(payload.bytes).toString('base64')}"}`;
  };
  return `${JSON.stringify(head).slice(0, -1)},"publications":[${publications.map(publicationJson).join(',')}]}`;
}

const dataOf = ({ payload }: StoredPublication): EncodedHistoryData =>
  payload.encoding === 'json' ? { json: payload.text } : { base64: Buffer.from(payload.bytes).toString('base64') };

const delivery: DeliveryHeader = { op: 'message', topic: 'orders.eu.1', priority: 'high', offset: 7, epoch: 'e1' };
const publish: PublishHeader = { op: 'publish', id: 3, topic: 'a.b', priority: 'low', key: 'k-1' };
const dataTexts = ['{"qty":2}', '"x\\"y"', '[1,"two",null]', 'null', '42', '"h\u00e9llo \u{1f600}"', '{"nested":{"a":[{}]}}'];

t.test('encodeTextWithData: the hand splice, byte for byte, and the same as encodeText of the parsed value', async (t) => {
  for (const header of [delivery, publish]) {
    for (const text of dataTexts) {
      const encoded = encodeTextWithData(header, text);
      t.equal(encoded, handSplicedDelivery(header, text), `${header.op} with ${text}`);
      t.equal(encoded, encodeText({ ...header, data: JSON.parse(text) }), `${header.op} with ${text}: as encodeText`);
      t.equal(joinTextWithData(JSON.stringify(header), text), encoded, 'joinTextWithData on the header JSON');
    }
  }
});

t.test('encodeTextWithData: any JSON value, as encodeText would write it', async (t) => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.nat(), (value, offset) => {
      const text = JSON.stringify(value);
      const header: DeliveryHeader = { ...delivery, offset };
      return encodeTextWithData(header, text) === handSplicedDelivery(header, text) && encodeTextWithData(header, text) === encodeText({ ...header, data: value as never });
    }),
    { numRuns: 300 },
  );
  t.pass('300 random values');
});

t.test('cancel: encodeText writes what JSON.stringify wrote', async (t) => {
  for (const transfer of [1, 907, Number.MAX_SAFE_INTEGER]) {
    t.equal(encodeText({ op: 'cancel', transfer }), JSON.stringify({ op: 'cancel', transfer }));
  }
});

t.test('encodeHistoryAnswer: the hand splice, byte for byte', async (t) => {
  const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
  const publications: StoredPublication[] = [
    { offset: 5, epoch: 'e7f3', priority: 'normal', time: 1_767_225_600_000, payload: { encoding: 'json', text: '{"item":"book"}' } },
    { offset: 6, epoch: 'e7f3', priority: 'high', time: 1_767_225_600_001, payload: { encoding: 'binary', bytes } },
    { offset: 7, epoch: 'e7f3', priority: 'low', time: 1_767_225_600_002, payload: { encoding: 'binary', bytes: new Uint8Array(0) } },
    { offset: 8, epoch: 'e7f3', priority: 'normal', time: 1_767_225_600_003, payload: { encoding: 'json', text: '"\u00e9\\n"' } },
  ];
  const heads: HistoryAnswerHead[] = [
    { topic: 'orders.eu.1', epoch: 'e7f3', offset: 8 },
    { topic: 'orders.eu.1', epoch: 'e7f3', offset: 8, recovered: true },
    { topic: 'orders.eu.1', epoch: 'e9', offset: 1, recovered: false, reason: 'epoch_mismatch' },
  ];
  for (const head of heads) {
    for (const list of [publications, [], publications.slice(1, 2)]) {
      t.equal(encodeHistoryAnswer(head, list, dataOf), handSplicedHistory(head, list), `${JSON.stringify(head)}, ${list.length} publications`);
    }
  }
  t.equal(
    encodeHistoryAnswer(heads[0]!, publications.slice(0, 1), dataOf),
    '{"topic":"orders.eu.1","epoch":"e7f3","offset":8,"publications":[{"offset":5,"epoch":"e7f3","priority":"normal","time":1767225600000,"data":{"item":"book"}}]}',
    'the example of operations.md',
  );
  const parsed = JSON.parse(encodeHistoryAnswer(heads[2]!, publications, dataOf)) as { publications: { dataBase64?: string }[] };
  t.same([...Buffer.from(parsed.publications[1]?.dataBase64 ?? '', 'base64')], [...bytes], 'bytes survive as base64');
  t.equal(parsed.publications[2]?.dataBase64, '', 'no bytes: an empty string');
});

t.test('encodeHistoryAnswer: the head in wire order whatever order its fields were given in', async (t) => {
  const head = { reason: 'expired', recovered: false, offset: 3, epoch: 'e', topic: 'a' } as const;
  t.equal(encodeHistoryAnswer(head, [], dataOf), '{"topic":"a","epoch":"e","offset":3,"recovered":false,"reason":"expired","publications":[]}');
});

import type { Message, Position, PublishAck } from '@switchboard/client';

/**
 * How the terminal client writes what it receives and reads what it sends. One line per message, so the
 * output pipes into grep, jq or a file: text lines are for people (`TOPIC OFFSET PAYLOAD`), `--json` lines
 * for programs (every field, the payload as it arrived).
 */

/** `chat.lobby 42 {"text":"hi"}`: a string payload as it is, unless it would break the line; bytes as base64. */
export function messageLine(message: Message<unknown>): string {
  return `${message.topic} ${message.offset} ${payloadText(message.data)}`;
}

/** `{"topic","offset","epoch","priority","data"}`; binary payloads as `"data":"<base64>","binary":true`. */
export function messageJson(message: Message<unknown>): string {
  const { topic, offset, epoch, priority, data } = message;
  return data instanceof Uint8Array
    ? JSON.stringify({ topic, offset, epoch, priority, data: Buffer.from(data).toString('base64'), binary: true })
    : JSON.stringify({ topic, offset, epoch, priority, data });
}

function payloadText(data: unknown): string {
  if (data instanceof Uint8Array) return `base64:${Buffer.from(data).toString('base64')}`;
  // Control characters (a newline above all) would split one message over lines: JSON escapes them.
  if (typeof data === 'string' && !/[\u0000-\u001f\u007f]/.test(data)) return data;
  return JSON.stringify(data);
}

/** An ack: `chat.lobby 42 e7f3` (offset and epoch `-` when the topic keeps no history), or the JSON. */
export function ackLine(ack: PublishAck, json: boolean): string {
  if (json) return JSON.stringify({ topic: ack.topic, offset: ack.offset ?? null, epoch: ack.epoch ?? null, duplicate: ack.duplicate });
  return `${ack.topic} ${ack.offset ?? '-'} ${ack.epoch ?? '-'}${ack.duplicate ? ' duplicate' : ''}`;
}

/**
 * DATA as published: JSON when it parses as JSON (`{"text":"hi"}`, `42`, `"quoted"`), else the text itself as
 * a string (`hello`); with `text`, always the text.
 */
export function payloadOf(data: string, text: boolean): unknown {
  if (text) return data;
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

/** `--since TOPIC=OFFSET@EPOCH` (what `sub` prints when it stops); topics hold no `=`, epochs any visible ASCII. */
export function parseSince(values: readonly string[]): Record<string, Position> | string {
  const since: Record<string, Position> = {};
  for (const value of values) {
    const match = /^([^=]+)=(\d+)@([!-~]{1,64})$/.exec(value);
    if (match === null) return `--since ${JSON.stringify(value)}: expected TOPIC=OFFSET@EPOCH, e.g. chat.lobby=42@e7f3`;
    since[match[1]!] = { offset: Number(match[2]), epoch: match[3]! };
  }
  return since;
}

/** The `--since` arguments that resume from `positions`: the inverse of {@link parseSince}. */
export function sinceArguments(positions: ReadonlyMap<string, Position>): string {
  return [...positions].map(([topic, { offset, epoch }]) => `--since '${topic}=${offset}@${epoch}'`).join(' ');
}

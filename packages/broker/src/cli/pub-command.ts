import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type Client, type Priority, type PublishAck, isSwitchboardError } from '@switchboard/client';
import { type CommandIo, UsageError, report } from './command-io.js';
import { connectClient, connectOptions, connectUsage } from './connect-flags.js';
import { ackLine, payloadOf } from './message-lines.js';

export const pubUsage = `Usage: switchboard pub TOPIC DATA|- [--priority high|normal|low] [--key KEY] [--text] [--json] [--url URL] [--token TOKEN]

Publishes DATA to TOPIC and prints the broker's ack: TOPIC OFFSET EPOCH. DATA is sent as JSON when it
parses as JSON ({"text":"hi"}, 42), else as a string. With DATA \`-\`, every line of stdin is published in
order (empty lines skipped) and each ack printed in the same order; a refused line is reported on stderr
with its line number, the rest go on, and the exit code is 1.

  --priority P    high overtakes normal and low traffic (default normal)
  --key KEY       idempotency key: the broker publishes at most once per topic and key (one DATA only)
  --text          send DATA (or each line) as a string even when it parses as JSON
  --json          print each ack as JSON: {"topic","offset","epoch","duplicate"}
${connectUsage}`;

const priorities: readonly Priority[] = ['high', 'normal', 'low'];

/** Publishes in flight at once from stdin: well under the SDK's send queue, so a fast pipe waits, not fails. */
const maxInFlight = 256;

interface PublishSettings {
  readonly topic: string;
  readonly priority: Priority;
  readonly text: boolean;
  readonly json: boolean;
}

/** `switchboard pub TOPIC DATA`: the SDK's publish with its ack. */
export async function pubCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      ...connectOptions,
      priority: { type: 'string', default: 'normal' },
      key: { type: 'string' },
      text: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 2) throw new UsageError('pub takes TOPIC and DATA (or - for stdin)');
  const [topic, data] = positionals as [string, string];
  const priority = values.priority as Priority;
  if (!priorities.includes(priority)) throw new UsageError(`--priority ${values.priority}: expected high, normal or low`);
  if (data === '-' && values.key !== undefined) throw new UsageError('--key names one message: not with DATA -');
  const settings: PublishSettings = { topic, priority, text: values.text, json: values.json };

  const client = connectClient(values, io);
  // Ctrl-C while a publish waits (say, for a broker that is down): closing rejects it, which is reported.
  const giveUp = (): void => void client.close();
  if (data !== '-') io.stop.addEventListener('abort', giveUp, { once: true });
  try {
    if (data !== '-') {
      const options = { priority, ...(values.key === undefined ? {} : { key: values.key }) };
      return (await settle(client.publish(topic, payloadOf(data, values.text), options), settings, io, undefined)) ? 0 : 1;
    }
    return await publishLines(client, settings, io);
  } finally {
    io.stop.removeEventListener('abort', giveUp);
    await client.close();
  }
}

/** Each stdin line as a publish, pipelined; acks reported in input order. */
async function publishLines(client: Client, settings: PublishSettings, io: CommandIo): Promise<number> {
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  const stopped = (): void => lines.close();
  io.stop.addEventListener('abort', stopped, { once: true });
  let reported = Promise.resolve(true);
  let failed = false;
  let inFlight = 0;
  let lineNumber = 0;
  let room: (() => void) | undefined;
  for await (const line of lines) {
    lineNumber++;
    if (line === '') continue;
    inFlight++;
    const sent = client.publish(settings.topic, payloadOf(line, settings.text), { priority: settings.priority });
    const at = lineNumber;
    // Chained so acks print in the order the lines came, whatever order they settle in.
    reported = reported.then(async () => {
      const ok = await settle(sent, settings, io, at);
      failed ||= !ok;
      inFlight--;
      room?.();
      return ok;
    });
    if (inFlight >= maxInFlight) await new Promise<void>((resolve) => (room = resolve));
    room = undefined;
  }
  io.stop.removeEventListener('abort', stopped);
  await reported;
  return failed ? 1 : 0;
}

/** Prints the ack (stdout) or the refusal (stderr); true when published. */
async function settle(publish: Promise<PublishAck | void>, settings: PublishSettings, io: CommandIo, line: number | undefined): Promise<boolean> {
  try {
    const ack = await publish;
    if (ack !== undefined) io.stdout.write(`${ackLine(ack, settings.json)}\n`);
    return true;
  } catch (error) {
    const what = isSwitchboardError(error) ? `${error.code}: ${error.message}` : String(error);
    report(io, `${line === undefined ? '' : `line ${line}: `}publish to ${settings.topic} failed: ${what}`);
    return false;
  }
}

import { parseArgs } from 'node:util';
import type { Message, Position } from '@switchboard/client';
import { type CommandIo, UsageError, report } from './command-io.js';
import { closedForGood, connectClient, connectOptions, connectUsage } from './connect-flags.js';
import { messageJson, messageLine, parseSince, sinceArguments } from './message-lines.js';

export const subUsage = `Usage: switchboard sub PATTERN [--json] [--since TOPIC=OFFSET@EPOCH ...] [--count N] [--url URL] [--token TOKEN]

Subscribes to PATTERN (\`chat.*\` one segment, \`orders.>\` the rest) and prints one line per message:
TOPIC OFFSET PAYLOAD (a string as it is, other JSON as JSON, bytes as base64:...). Runs until Ctrl-C,
then prints on stderr the --since arguments that resume where it stopped.

  --json          one JSON object per line: {"topic","offset","epoch","priority","data"}
  --since T=O@E   also replay what topic T got after offset O of epoch E, if the broker still has it
  --count N       exit after N messages
${connectUsage}`;

/**
 * `switchboard sub PATTERN`: the SDK's subscribe, printed. Gaps and failed recoveries are announced on
 * stderr (a loss is never silent); stdout holds messages only.
 */
export async function subCommand(argv: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { ...connectOptions, json: { type: 'boolean', default: false }, since: { type: 'string', multiple: true, default: [] }, count: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('sub takes one PATTERN');
  const pattern = positionals[0]!;
  const since = parseSince(values.since);
  if (typeof since === 'string') throw new UsageError(since);
  const count = values.count === undefined ? Infinity : Number(values.count);
  if (!Number.isSafeInteger(count) && count !== Infinity) throw new UsageError(`--count ${values.count}: expected a whole number`);
  if (count <= 0) throw new UsageError('--count must be at least 1');

  const client = connectClient(values, io);
  // Where each topic stands: what to resume from, starting from what --since named.
  const seen = new Map<string, Position>(Object.entries(since));
  let received = 0;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const format = values.json ? messageJson : messageLine;
  const subscription = client.subscribe(
    pattern,
    (message: Message<unknown>) => {
      if (received >= count) return;
      received++;
      seen.set(message.topic, { offset: message.offset, epoch: message.epoch });
      io.stdout.write(`${format(message)}\n`);
      if (received === count) finish(0);
    },
    {
      since,
      onGap: (gap) => report(io, `gap ${gap.topic}: offsets ${gap.from}-${gap.to} of epoch ${gap.epoch} were lost (${gap.reason})`),
      onRecoveryFailed: (failure) =>
        report(io, `could not recover ${failure.topic} (${failure.reason}): messages up to offset ${failure.offset} of epoch ${failure.epoch} were not replayed`),
      onError: (error) => report(io, `subscription ${pattern}: ${error.code}: ${error.message}`),
    },
  );
  subscription.ready.then(
    (ack) => report(io, `subscribed to ${ack.pattern}${recoverySummary(ack.recovery)}`),
    () => finish(1),
  );
  void closedForGood(client).then(() => finish(1));
  io.stop.addEventListener('abort', () => finish(0), { once: true });
  const code = await finished;
  subscription.unsubscribe();
  await client.close();
  if (seen.size > 0) report(io, `resume with: switchboard sub '${pattern}' ${sinceArguments(seen)}`);
  return code;
}

function recoverySummary(recovery: Readonly<Record<string, { status: string; offset: number }>> | undefined): string {
  if (recovery === undefined) return '';
  const topics = Object.entries(recovery).map(([topic, result]) => `${topic} ${result.status} up to ${result.offset}`);
  return topics.length === 0 ? '' : ` (${topics.join(', ')})`;
}

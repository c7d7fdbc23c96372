import { randomBytes } from 'node:crypto';
import type { ConnectionReport, CommandResult, NodeCommand } from './engine-commands.js';
import { parseNodeCommand } from './engine-commands.js';
import { unavailable } from './redis-errors.js';
import type { RedisKeyspace } from './redis-keyspace.js';
import { type Topology, subscribeShard } from './redis-topology.js';

/** Marks a command or an answer among the messages a subscriber connection receives (publications, canaries). */
const commandMarker = Buffer.from('cmd ');
const answerMarker = Buffer.from('ans ');

export interface RedisCommandsOptions {
  /** This engine's node id: its answer channel. */
  readonly nodeId: string;
  readonly keyspace: RedisKeyspace;
  /** PUBLISH (SPUBLISH in cluster mode); resolves with the number of subscribers that received it. */
  readonly publish: (channel: string, message: Buffer) => Promise<unknown>;
  /** Runs a command on this node's connections (the handler's `onCommand`); must not throw. */
  readonly run: (command: NodeCommand) => readonly ConnectionReport[];
}

interface Pending {
  /** Known once PUBLISH answers: how many nodes received the command. */
  expected: number | undefined;
  readonly connections: ConnectionReport[];
  answered: number;
  readonly done: (result: CommandResult) => void;
}

/**
 * Admin commands across nodes (design §3.5): every node subscribes `cmd` and its own `r:<node>` (on the
 * control tag `{ctl}:` in cluster mode, like the `nodes` key) beside its canary. A command is PUBLISHed on
 * `cmd`; each node (the asking one too) runs it and PUBLISHes its answer to the asker's channel, which gathers
 * answers until every node that received the command answered, or the timeout. The expected count is PUBLISH's own reply, the subscribers that received the message: exact
 * on a single Redis, and in cluster mode too, since `{ctl}` is one slot and sharded subscribers of a slot
 * all sit on its shard. At most once: nothing is stored or resent.
 */
export class RedisCommands {
  readonly commandChannel: string;
  readonly answerChannel: string;
  private readonly options: RedisCommandsOptions;
  private readonly pending = new Map<string, Pending>();

  constructor(options: RedisCommandsOptions) {
    this.options = options;
    this.commandChannel = options.keyspace.commandChannel();
    this.answerChannel = options.keyspace.answerChannel(options.nodeId);
  }

  /** Subscribes both channels on the shard that serves them (called by every rebuild, like the canary's). */
  subscribe(topology: Topology): Promise<unknown> {
    const shard = topology.shardFor(this.commandChannel);
    if (shard === undefined) return Promise.reject(unavailable(`no Redis node serves channel ${this.commandChannel}`));
    return subscribeShard(topology, shard, [this.commandChannel, this.answerChannel]);
  }

  /** Sends `command` to every node and gathers the answers for up to `timeoutMs`. */
  async run(command: NodeCommand, timeoutMs: number): Promise<CommandResult> {
    const id = randomBytes(8).toString('hex');
    let finish!: (result: CommandResult) => void;
    const result = new Promise<CommandResult>((resolve) => (finish = resolve));
    const pending: Pending = { expected: undefined, connections: [], answered: 0, done: finish };
    // Registered before publishing: answers may arrive before PUBLISH's own reply.
    this.pending.set(id, pending);
    const timer = setTimeout(() => this.settle(id), timeoutMs);
    timer.unref();
    try {
      const message = Buffer.concat([commandMarker, Buffer.from(JSON.stringify({ id, from: this.options.nodeId, command }))]);
      const receivers = await this.options.publish(this.commandChannel, message);
      pending.expected = typeof receivers === 'number' ? receivers : 0;
    } catch (error) {
      clearTimeout(timer);
      this.pending.delete(id);
      throw unavailable('admin command not sent', error);
    }
    if (pending.answered >= pending.expected) this.settle(id);
    const settled = await result;
    clearTimeout(timer);
    return settled;
  }

  /** Takes a command or an answer; false for any other message. */
  receive(message: Buffer): boolean {
    if (startsWith(message, commandMarker)) {
      this.answer(message.subarray(commandMarker.length));
      return true;
    }
    if (!startsWith(message, answerMarker)) return false;
    const answer = parseJson(message.subarray(answerMarker.length));
    const id = typeof answer?.['id'] === 'string' ? answer['id'] : undefined;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (pending === undefined || id === undefined) return true;
    const connections = answer?.['connections'];
    if (Array.isArray(connections)) pending.connections.push(...(connections as ConnectionReport[]));
    pending.answered++;
    if (pending.expected !== undefined && pending.answered >= pending.expected) this.settle(id);
    return true;
  }

  /** Ends every command in flight with what it has (the engine is closing). */
  settleAll(): void {
    for (const id of [...this.pending.keys()]) this.settle(id);
  }

  private answer(body: Buffer): void {
    const request = parseJson(body);
    const command = parseNodeCommand(request?.['command']);
    const id = request?.['id'];
    const from = request?.['from'];
    if (command === undefined || typeof id !== 'string' || typeof from !== 'string' || !/^[!-~]{1,64}$/.test(from)) return;
    let connections: readonly ConnectionReport[] = [];
    try {
      connections = this.options.run(command);
    } catch (error) {
      // The handler broke its contract: answer with nothing rather than break the engine's I/O, and surface it
      // like a throwing event listener (as engine-redis.ts's callHandler does).
      queueMicrotask(() => {
        throw error;
      });
    }
    const answer = Buffer.concat([answerMarker, Buffer.from(JSON.stringify({ id, node: this.options.nodeId, connections }))]);
    // At most once: an answer lost with Redis shows as a node that did not answer (`complete: false`).
    this.options.publish(this.options.keyspace.answerChannel(from), answer).catch(() => undefined);
  }

  private settle(id: string): void {
    const pending = this.pending.get(id);
    if (pending === undefined) return;
    this.pending.delete(id);
    const expected = Math.max(pending.expected ?? 0, pending.answered);
    pending.done({
      connections: pending.connections,
      nodes: { expected, answered: pending.answered },
      complete: pending.expected !== undefined && pending.answered >= pending.expected,
    });
  }
}

function startsWith(message: Buffer, marker: Buffer): boolean {
  return message.length >= marker.length && message.subarray(0, marker.length).equals(marker);
}

function parseJson(body: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

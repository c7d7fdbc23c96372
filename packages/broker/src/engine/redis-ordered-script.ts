import { createHash } from 'node:crypto';
import { Command } from 'ioredis';

/**
 * A Lua script sent as a command that keeps its place in the connection's order. Like ioredis's
 * `defineCommand`, it goes as `EVAL` on a socket's first use (so a fresh or restarted Redis learns the script
 * in order) and as `EVALSHA` after that. Unlike it, a `NOSCRIPT` reply (the script cache was flushed while the
 * socket stayed open: `SCRIPT FLUSH`, a proxy that switched servers) fails the command instead of resending
 * it: ioredis's resend goes to the back of the queue, behind commands sent after it, and would apply
 * publishes out of their order (issue 13). The script was not run, so the caller may report the failure as
 * `unavailable`; the next command on the socket goes as `EVAL` again.
 */
export class OrderedScript {
  readonly lua: string;
  readonly sha: string;
  /** Sockets known to have the script: ioredis hands each command the socket it is written to. */
  private readonly loaded = new WeakSet<object>();

  constructor(lua: string) {
    this.lua = lua;
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  /** A command running the script with `keys` and `args`, for `sendCommand` (a `Redis` or a `Cluster`). */
  command(keys: readonly string[], args: readonly (string | Buffer)[]): Command {
    return new ScriptCommand(this, [this.sha, keys.length, ...keys, ...args]);
  }

  /** The command's name and first argument for `socket`: `EVAL` with the source on its first use, else `EVALSHA`. */
  nameFor(socket: object): 'eval' | 'evalsha' {
    if (this.loaded.has(socket)) return 'evalsha';
    this.loaded.add(socket);
    return 'eval';
  }

  /** A `NOSCRIPT` reply: the socket's Redis no longer has the script, so its next command sends the source. */
  forget(socket: object): void {
    this.loaded.delete(socket);
  }
}

/**
 * One class for every script command, defined once: a class per command (as this was) gave each publish
 * fresh hidden classes, leaving ioredis's command handling megamorphic on the publish path.
 */
class ScriptCommand extends Command {
  private readonly script: OrderedScript;

  constructor(script: OrderedScript, args: (string | number | Buffer)[]) {
    super('evalsha', args);
    this.script = script;
  }

  override toWritable(socket: object): string | Buffer {
    const { script } = this;
    const reject = this.reject;
    this.reject = (error: Error) => {
      if (error.message.includes('NOSCRIPT')) script.forget(socket);
      reject.call(this, error);
    };
    this.name = script.nameFor(socket);
    this.args[0] = this.name === 'evalsha' ? script.sha : script.lua;
    return super.toWritable(socket);
  }
}

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
    const script = this;
    const command = new (class extends Command {
      override toWritable(socket: object): string | Buffer {
        const reject = this.reject;
        this.reject = (error: Error) => {
          if (error.message.includes('NOSCRIPT')) script.loaded.delete(socket);
          reject.call(this, error);
        };
        if (script.loaded.has(socket)) {
          this.name = 'evalsha';
          this.args[0] = script.sha;
        } else {
          script.loaded.add(socket);
          this.name = 'eval';
          this.args[0] = script.lua;
        }
        return super.toWritable(socket);
      }
    })('evalsha', [this.sha, keys.length, ...keys, ...args]);
    return command;
  }
}

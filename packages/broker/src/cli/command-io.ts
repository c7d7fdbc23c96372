import type { Readable, Writable } from 'node:stream';

/**
 * What a terminal command reads and writes: the process's streams and environment, passed in so each
 * command is a function from arguments to an exit code. stdout carries the command's output only (messages,
 * acks, a token), one line each, so it pipes; progress and errors go to stderr.
 */
export interface CommandIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Ends a long-running command (SIGINT, SIGTERM) the way running out of input ends `pub -`. */
  readonly stop: AbortSignal;
}

/** A usage mistake: the command prints it with its usage and exits 2, like the broker's bad configuration. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Writes a line to stderr, prefixed like every other message of the `switchboard` command. */
export function report(io: CommandIo, line: string): void {
  io.stderr.write(`switchboard: ${line}\n`);
}

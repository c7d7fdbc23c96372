import type { Writable } from 'node:stream';

/** Frames shorter than this are joined into one buffer when released; longer ones are written as they are. */
const JOIN_BELOW = 1024;
/** The largest buffer a run of joined frames makes. */
const MAX_JOINED = 64 * 1024;

/**
 * What a connection wrote during one event-loop iteration, held until the loop's check phase and then
 * handed to the socket at once, as uWebSockets' cork buffer does. Node's own cork would pass each frame to
 * the kernel as a buffer of its own in one `writev`, at a cost per buffer in its stream machinery (the
 * broker's deliveries are 100 - 200 bytes each); small frames are joined here into one buffer instead,
 * which costs a copy of a few hundred bytes where a buffer of Node's costs more (docs/benchmarks.md).
 */
export class HeldWrites {
  /** Bytes held, counted in the connection's `bufferedAmount`. */
  bytes = 0;
  private readonly chunks: Uint8Array[] = [];

  add(data: readonly Uint8Array[]): void {
    for (const chunk of data) {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
    }
  }

  /** Writes everything held to `socket`, in order: one write when the frames are small, else one `writev`. */
  writeTo(socket: Writable): void {
    const { chunks } = this;
    if (chunks.length === 0) return;
    if (chunks.length === 1) {
      socket.write(chunks[0]!);
      return;
    }
    if (this.bytes <= MAX_JOINED && chunks.every(isSmall)) {
      socket.write(Buffer.concat(chunks, this.bytes));
      return;
    }
    socket.cork();
    let run: Uint8Array[] = [];
    let runBytes = 0;
    const writeRun = (): void => {
      if (run.length === 0) return;
      socket.write(run.length === 1 ? run[0]! : Buffer.concat(run, runBytes));
      run = [];
      runBytes = 0;
    };
    for (const chunk of chunks) {
      if (!isSmall(chunk)) {
        writeRun();
        socket.write(chunk);
        continue;
      }
      if (runBytes + chunk.length > MAX_JOINED) writeRun();
      run.push(chunk);
      runBytes += chunk.length;
    }
    writeRun();
    socket.uncork();
  }
}

function isSmall(chunk: Uint8Array): boolean {
  return chunk.length < JOIN_BELOW;
}

import type { DeflateRaw, InflateRaw } from 'node:zlib';
import { constants as zlibConstants } from 'node:zlib';
import type { SyncZlib } from '../platform.js';

/** Output is produced through one shared buffer: everything here is synchronous, so no call can overlap. */
const OUTPUT_CHUNK_SIZE = 64 * 1024;
let outputChunk: Buffer | undefined;

const EMPTY = Buffer.alloc(0);

/** The native handle behind a Node zlib stream, as lib/zlib.js drives it. */
interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inputOffset: number,
    inputLength: number,
    output: Uint8Array,
    outputOffset: number,
    outputLength: number,
  ): void;
  onerror: (message: string, errno: number, code?: string) => void;
}

interface ZlibInternals {
  _handle?: ZlibHandle | null;
  /** [output space left, input left] after each write. */
  _writeState?: Uint32Array;
}

/**
 * A Node zlib stream driven synchronously and kept open across calls: the platform's `SyncZlib`.
 *
 * Why not `stream._processChunk(chunk, flush)`: without a callback it does run synchronously (it is what
 * `deflateRawSync` is built on) but it ends by closing the stream (processChunkSync calls `_close(self)`,
 * lib/zlib.js, every Node release since 10), which frees the zlib state after one call: fine for one-shot
 * `*Sync` helpers, useless for a context that must outlive a message. So this does what processChunkSync
 * does, minus the close: call the native handle's `writeSync` and read from `_writeState` how much output
 * space and input are left, looping while zlib fills the output. The handle reports errors by calling
 * `onerror` synchronously inside `writeSync`; ours records them, so a corrupt message throws here rather
 * than destroying the stream and emitting 'error' on a later tick.
 *
 * These are Node internals, unchanged since Node 10 (Bun mirrors them); the constructor checks they are
 * there, so a change shows as one clear error, and the permessage-deflate tests exercise every path.
 */
export class NodeSyncZlib implements SyncZlib {
  ended = false;
  private readonly stream: DeflateRaw | InflateRaw;
  private readonly handle: ZlibHandle;
  private readonly state: Uint32Array;
  private error: string | undefined;

  constructor(stream: DeflateRaw | InflateRaw) {
    const internals = stream as unknown as ZlibInternals;
    const handle = internals._handle;
    const state = internals._writeState;
    if (typeof handle?.writeSync !== 'function' || !(state instanceof Uint32Array) || state.length < 2) {
      stream.destroy();
      throw new Error('node:zlib internals changed: permessage-deflate needs the stream handle writeSync and _writeState');
    }
    this.stream = stream;
    this.handle = handle;
    this.state = state;
    handle.onerror = (message: string) => {
      this.error = message;
    };
  }

  write(input: Uint8Array, limit: number): Buffer | undefined {
    const chunk = (outputChunk ??= Buffer.allocUnsafeSlow(OUTPUT_CHUNK_SIZE));
    const parts: Buffer[] = [];
    let produced = 0;
    let inputOffset = 0;
    let inputLeft = input.length;
    for (;;) {
      this.handle.writeSync(zlibConstants.Z_SYNC_FLUSH, input, inputOffset, inputLeft, chunk, 0, OUTPUT_CHUNK_SIZE);
      if (this.error !== undefined) throw new Error(this.error);
      const [outputSpaceLeft = 0, inputLeftAfter = 0] = this.state;
      const length = OUTPUT_CHUNK_SIZE - outputSpaceLeft;
      if (length > 0) {
        produced += length;
        if (produced > limit) return undefined;
        parts.push(Buffer.from(chunk.subarray(0, length)));
      }
      inputOffset += inputLeft - inputLeftAfter;
      inputLeft = inputLeftAfter;
      if (outputSpaceLeft !== 0) {
        // zlib stopped with output space to spare: it has flushed everything it could. Input left over at
        // this point means the stream ended (Z_STREAM_END) before it.
        this.ended = inputLeft > 0;
        break;
      }
    }
    if (parts.length === 1) return parts[0]!;
    return parts.length === 0 ? EMPTY : Buffer.concat(parts, produced);
  }

  close(): void {
    this.stream.destroy();
  }
}

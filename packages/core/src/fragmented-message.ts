import { concatBytes } from './bytes.js';
import { Opcode } from './constants.js';
import type { Platform } from './platform.js';
import { unfinishedTail } from './utf8.js';

/**
 * A data message arriving in fragments (RFC 6455 §5.4), from its first frame to its last. `Protocol`
 * makes one only when a message is fragmented or compressed: most connections never receive one, and its
 * seven fields on every `Protocol` were ~56 bytes of each idle connection.
 */
export class FragmentedMessage {
  /** The message's size so far, inflated. */
  bytes = 0;
  /**
   * The unfinished code point the text so far ends with (uncompressed text only): a continuation frame's
   * UTF-8 check, while its payload is still arriving, starts from it.
   */
  tail: Uint8Array | undefined;
  private fragments: Uint8Array[] | undefined;
  private textDecoder: TextDecoder | undefined;
  private textParts: string[] | undefined;

  constructor(
    /** `Opcode.text` or `Opcode.binary`, from the first frame. */
    readonly opcode: number,
    /** RSV1 of the first frame: permessage-deflate (RFC 7692 §6). */
    readonly compressed: boolean,
    private readonly platform: Platform,
  ) {}

  get isText(): boolean {
    return this.opcode === Opcode.text;
  }

  /**
   * Adds a fragment's data, inflated. Text is decoded as it arrives, so invalid UTF-8 is found at the
   * fragment that holds it (RFC 6455 §8.1 lets an endpoint fail as soon as the data is known invalid):
   * false then.
   */
  append(data: Uint8Array, fin: boolean): boolean {
    this.bytes += data.length;
    if (!this.isText) {
      if (data.length > 0) (this.fragments ??= []).push(data);
      return true;
    }
    this.textDecoder ??= new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    try {
      const part = this.textDecoder.decode(data, { stream: !fin });
      if (part.length > 0) (this.textParts ??= []).push(part);
    } catch {
      return false;
    }
    if (!fin && !this.compressed) {
      // An unfinished code point is at most 3 bytes, so the last 3 bytes (with the earlier tail, for
      // fragments shorter than that) hold it.
      const last = data.subarray(Math.max(0, data.length - 3));
      const carried = this.tail;
      this.tail = unfinishedTail(carried === undefined || data.length >= 3 ? last : concatBytes([carried, last], carried.length + last.length, this.platform));
    }
    return true;
  }

  /** The whole text, once the last fragment was appended. */
  text(): string {
    const parts = this.textParts ?? [];
    return parts.length === 1 ? parts[0]! : parts.join('');
  }

  /** The whole binary payload, once the last fragment was appended. */
  binary(): Uint8Array {
    const fragments = this.fragments ?? [];
    return fragments.length === 1 ? fragments[0]! : concatBytes(fragments, this.bytes, this.platform);
  }
}

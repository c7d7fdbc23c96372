import { type DeliveryHeader, encodeBinary, encodeText, encodeTextWithData, splitIntoChunks } from '@switchboard/protocol';
import { type MessageCompressor, encodeMessage } from '@switchboard/core';
import type { OutboundFrame, OutboundItem, OverflowPolicy } from './outbound-item.js';
import type { Publication } from '../engine/engine.js';

/** One WebSocket message, framed once (RFC 6455 §5.2) and written as is to every socket that gets it. */
export type Frames = readonly Buffer[];

/**
 * A way of framing messages that a group of connections shares: no compression, or permessage-deflate
 * without context takeover at one window size. Every connection in a group can be sent the same bytes.
 */
export interface CompressionVariant {
  /** 0 for no compression; distinct per variant. */
  readonly id: number;
  readonly compressor: MessageCompressor | undefined;
}

export const uncompressed: CompressionVariant = Object.freeze({ id: 0, compressor: undefined });

export interface DeliveryEncoding {
  /** The largest payload sent in one message; larger ones are chunked (protocol.md §7.1). */
  readonly chunkBytes: number;
  /** Transfer ids from one node-wide counter, so a chunked delivery is the same bytes for every subscriber. */
  readonly nextTransfer: () => number;
  /** Called once per encoding, for the "encoded once" metric. */
  readonly onEncoded?: () => void;
}

/**
 * One publication on its way to local subscribers. It is encoded at most once per compression variant,
 * on first use, and every subscriber's send queue gets the same item (the queue keeps its own cursor).
 */
export class Delivery {
  readonly publication: Publication;
  private readonly overflow: OverflowPolicy;
  private readonly encoding: DeliveryEncoding;
  private readonly items = new Map<number, OutboundItem<Frames>>();
  private transfer: number | undefined;

  constructor(publication: Publication, overflow: OverflowPolicy, encoding: DeliveryEncoding) {
    this.publication = publication;
    this.overflow = overflow;
    this.encoding = encoding;
  }

  itemFor(variant: CompressionVariant): OutboundItem<Frames> {
    let item = this.items.get(variant.id);
    if (item === undefined) {
      item = this.encode(variant.compressor);
      this.items.set(variant.id, item);
      this.encoding.onEncoded?.();
    }
    return item;
  }

  private encode(compressor: MessageCompressor | undefined): OutboundItem<Frames> {
    const { topic, priority, offset, epoch, payload } = this.publication;
    const header: DeliveryHeader = { op: 'message', topic, priority, offset, epoch };
    const fields = { priority, topic, offset, epoch, overflow: this.overflow } as const;
    if (payload.encoding === 'json') {
      // The payload's UTF-8 size decides chunking (protocol.md §7.1); ASCII-only text needs no encoding pass.
      const size = Buffer.byteLength(payload.text, 'utf8');
      if (size <= this.encoding.chunkBytes) {
        return { ...fields, ...frame(Buffer.from(encodeTextWithData(header, payload.text), 'utf8'), false, compressor) };
      }
      return { ...fields, ...this.chunked(header, Buffer.from(payload.text, 'utf8'), 'json', compressor) };
    }
    if (payload.bytes.length <= this.encoding.chunkBytes) {
      return { ...fields, ...frame(encodeBinary(header, payload.bytes), true, compressor) };
    }
    return { ...fields, ...this.chunked(header, payload.bytes, 'binary', compressor) };
  }

  private chunked(
    header: DeliveryHeader,
    bytes: Uint8Array,
    encoding: 'json' | 'binary',
    compressor: MessageCompressor | undefined,
  ): { chunks: OutboundFrame<Frames>[]; abandon: OutboundFrame<Frames> } {
    const transfer = (this.transfer ??= this.encoding.nextTransfer());
    const chunks = splitIntoChunks(header, bytes, this.encoding.chunkBytes, { transfer, encoding }).map(({ data, ...chunkHeader }) =>
      frame(encodeBinary(chunkHeader, data), true, compressor),
    );
    // Sent instead of the remaining chunks when the queue drops a started delivery (protocol.md §7.4).
    const abandon = frame(Buffer.from(encodeText({ op: 'cancel', transfer }), 'utf8'), false, compressor);
    return { chunks, abandon };
  }
}

/** Frames one whole message; `bytes` counts what it occupies in a send queue. */
export function frame(message: Uint8Array, binary: boolean, compressor: MessageCompressor | undefined): OutboundFrame<Frames> {
  const payload = encodeMessage(message, { binary, compressor });
  let bytes = 0;
  for (const buffer of payload) bytes += buffer.length;
  return { bytes, payload };
}

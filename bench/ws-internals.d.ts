// The shapes of the two `ws` internals the core benchmark drives directly as baselines.
import type { Writable } from 'node:stream';

declare global {
  type WsReceiverClass = new (options?: { isServer?: boolean; maxPayload?: number }) => Writable;
  interface WsSenderClass {
    frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
  }
}
export {};

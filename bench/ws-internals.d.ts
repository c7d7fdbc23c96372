// Type shims for the two `ws` internals the core benchmark drives directly as baselines.
declare module 'ws/lib/receiver.js' {
  import { Writable } from 'node:stream';
  export default class Receiver extends Writable {
    constructor(options?: { isServer?: boolean; maxPayload?: number });
  }
}
declare module 'ws/lib/sender.js' {
  const Sender: {
    frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
  };
  export default Sender;
}

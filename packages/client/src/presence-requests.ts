/** The two presence reads (protocol.md §13.2): `presence` and `presence_stats` requests and their answers. */
import { type ErrorMessage, type PresenceMessage, type PresenceStatsMessage, type ProtocolErrorCode, parseTopic } from '@switchboard/protocol';
import type { ClientContext } from './client-context.js';
import { ClientErrorCode, SwitchboardError, type SwitchboardErrorDetails } from './errors.js';

interface Pending {
  readonly op: 'presence' | 'presence_stats';
  readonly topic: string;
  resolve(answer: PresenceMessage | PresenceStatsMessage): void;
  reject(error: SwitchboardError): void;
}

/**
 * Presence requests on the current connection, by request id. They need a welcomed connection whose broker
 * announced `presence`; they reject with `connection_lost` when it ends first (a read is cheap to repeat,
 * and the member lists re-read on their own after a reconnect).
 */
export class PresenceRequests {
  readonly #context: ClientContext;
  readonly #pending = new Map<number, Pending>();

  constructor(context: ClientContext) {
    this.#context = context;
  }

  read(op: 'presence', topic: string): Promise<PresenceMessage>;
  read(op: 'presence_stats', topic: string): Promise<PresenceStatsMessage>;
  read(op: 'presence' | 'presence_stats', topic: string): Promise<PresenceMessage | PresenceStatsMessage> {
    const context = this.#context;
    const parsed = parseTopic(topic);
    if (!parsed.ok) return Promise.reject(new SwitchboardError(parsed.error.code, `${op}: ${parsed.error.message}`, { topic }));
    const connection = context.connection;
    if (connection?.welcome === undefined) return Promise.reject(new SwitchboardError(ClientErrorCode.connectionLost, `${op} ${topic}: not connected`, { topic }));
    const unsupported = context.unsupported('presence', `${op} ${topic}`);
    if (unsupported !== undefined) return Promise.reject(unsupported);
    return new Promise((resolve, reject) => {
      const id = context.nextRequestId();
      this.#pending.set(id, { op, topic, resolve, reject });
      connection.send(op === 'presence' ? { op, id, topic } : { op, id, topic });
    });
  }

  /** An answer (whole, or reassembled from chunks); false when it answers no request of ours. */
  receive(answer: PresenceMessage | PresenceStatsMessage): boolean {
    if (answer.id === undefined) return false;
    const pending = this.#pending.get(answer.id);
    if (pending === undefined || pending.op !== answer.op) return false;
    this.#pending.delete(answer.id);
    pending.resolve(answer);
    return true;
  }

  /** The broker refused a request (or its chunked answer broke); false when the id is not ours. */
  refused(id: number, message: Pick<ErrorMessage, 'code' | 'message'>, details: SwitchboardErrorDetails = {}): boolean {
    const pending = this.#pending.get(id);
    if (pending === undefined) return false;
    this.#pending.delete(id);
    pending.reject(new SwitchboardError(message.code as ProtocolErrorCode, `${pending.op} ${pending.topic}: ${message.message}`, { topic: pending.topic, ...details }));
    return true;
  }

  /** The connection ended: every open request rejects, with `final` when the client stopped. */
  connectionLost(final: SwitchboardError | undefined): void {
    for (const [id, pending] of this.#pending) {
      this.#pending.delete(id);
      pending.reject(final ?? new SwitchboardError(ClientErrorCode.connectionLost, `${pending.op} ${pending.topic}: the connection ended before the answer arrived`, { topic: pending.topic }));
    }
  }
}

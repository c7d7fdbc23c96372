import { type ClientMessage, type DecodeResult, ProtocolCloseCode, decodeClientMessage } from '@switchboard/protocol';
import type { MessageData } from '@switchboard/core';
import { Deque } from '../collections/deque.js';
import type { Config } from '../config/config.js';
import type { BrokerStats } from '../stats.js';

/** A message that did not decode, with whatever identifies it (its request id, its transfer). */
export type DecodeFailure = Extract<DecodeResult<ClientMessage>, { readonly ok: false }>;

type InboundWork = ClientMessage | DecodeFailure;

/** What the inbound queue needs of its session (the session itself: no per-connection closures). */
export interface InboundOwner {
  readonly isOpen: boolean;
  /** The queue while a message is being handled, set and cleared by `InboundQueue` alone. */
  inbound: InboundQueue | undefined;
  readonly config: Pick<Config, 'maxPendingRequests'>;
  readonly context: { readonly stats: BrokerStats };
  /** Handles one message; a returned promise holds back the messages after it until it settles. */
  handle(message: ClientMessage): Promise<void> | undefined;
  /** Answers a message that failed to decode, in order with the messages around it (protocol.md §7.3). */
  refuse(failure: DecodeFailure): void;
  close(code: number, reason: string): void;
  /** A handler threw: a bug of ours, which ends the connection. */
  internalError(error: unknown): void;
}

/**
 * Decodes a connection's messages and handles them in arrival order. A request that waits for the engine
 * (subscribe, refresh) holds back the ones after it, so "subscribe, then publish" behaves as written; at
 * most `maxPendingRequests` wait behind it, beyond which the connection is closed with 4003.
 *
 * A queue exists only while a message is being handled (`InboundOwner.inbound`): an idle connection, the
 * usual one, holds none (its 48 bytes were a part of every idle connection).
 */
export class InboundQueue {
  private readonly owner: InboundOwner;
  /** Created when a message first has to wait. */
  private waiting: Deque<InboundWork> | undefined;

  private constructor(owner: InboundOwner) {
    this.owner = owner;
  }

  /** Takes one WebSocket message as core delivers it. */
  static receive(owner: InboundOwner, data: MessageData, isBinary: boolean): void {
    if (!owner.isOpen) return;
    const { stats } = owner.context;
    stats.messagesReceived++;
    stats.bytesReceived += typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    const decoded = decodeClientMessage(isBinary ? (data as Buffer | ArrayBuffer) : (data as string));
    const work = decoded.ok ? decoded.message : decoded;
    const busy = owner.inbound;
    if (busy !== undefined) {
      busy.hold(work);
      return;
    }
    const queue = new InboundQueue(owner);
    owner.inbound = queue;
    void queue.run(work);
  }

  /** Forgets what waits (the connection is closing). */
  clear(): void {
    this.waiting = undefined;
  }

  private hold(work: InboundWork): void {
    const waiting = (this.waiting ??= new Deque<InboundWork>());
    if (waiting.length >= this.owner.config.maxPendingRequests) {
      this.owner.close(ProtocolCloseCode.unavailable, 'too many requests waiting for the engine');
      return;
    }
    waiting.push(work);
  }

  private async run(first: InboundWork): Promise<void> {
    const { owner } = this;
    let next: InboundWork | undefined = first;
    while (next !== undefined && owner.isOpen) {
      try {
        const pending = isFailure(next) ? owner.refuse(next) : owner.handle(next);
        if (pending !== undefined) await pending;
      } catch (error) {
        owner.internalError(error);
      }
      next = this.waiting?.shift();
    }
    owner.inbound = undefined;
  }
}

function isFailure(work: InboundWork): work is DecodeFailure {
  return (work as Partial<DecodeFailure>).ok === false;
}

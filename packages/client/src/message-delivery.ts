/** Deliveries, whole or chunked, and gaps, to the handlers of the subscriptions that match them. */
import { type DeliveryHeader, type DeliveryMessage, type GapMessage, parseTopic } from '@switchboard/protocol';
import type { InboundChunk, InboundChunkOutcome } from './chunks.js';
import type { ClientContext } from './client-context.js';
import type { Connection } from './connection.js';
import { ClientErrorCode, SwitchboardError } from './errors.js';
import { type PayloadSchemas, validatePayload } from './payload-schemas.js';
import type { PositionTracker } from './positions.js';
import type { Gap, Message, RecoveryFailure } from './subscription.js';
import type { SubscriptionEffects } from './subscription-effects.js';

/**
 * Hands each delivery to every matching subscription once: duplicates (by position) are dropped, a new
 * epoch is reported as a failed recovery, payloads are checked by the schemas. Reassembles chunked
 * deliveries, and turns a chunked delivery abandoned (invalid, cancelled too late, or timed out) into a
 * gap of one message.
 */
export class MessageDelivery {
  readonly #context: ClientContext;
  readonly #positions: PositionTracker;
  readonly #subscriptions: SubscriptionEffects;
  readonly #schemas: PayloadSchemas;
  readonly #presence: (outcome: Extract<InboundChunkOutcome, { kind: 'presence' | 'presence_failed' }>) => void;

  /** `presence` takes a chunked `presence` listing, reassembled or abandoned. */
  constructor(
    context: ClientContext,
    positions: PositionTracker,
    subscriptions: SubscriptionEffects,
    schemas: PayloadSchemas,
    presence: (outcome: Extract<InboundChunkOutcome, { kind: 'presence' | 'presence_failed' }>) => void,
  ) {
    this.#context = context;
    this.#positions = positions;
    this.#subscriptions = subscriptions;
    this.#schemas = schemas;
    this.#presence = presence;
  }

  deliver(message: DeliveryMessage): void {
    const locals = this.#subscriptions.match(message.topic);
    // protocol.md §6.3: "the client drops messages no active subscription matches".
    if (locals.length === 0) return;
    const verdict = this.#positions.deliver(message.topic, message.epoch, message.offset);
    if (verdict.status === 'duplicate') return;
    const context = this.#context;
    if (verdict.status === 'epoch_changed') {
      const failure: RecoveryFailure = { topic: message.topic, reason: 'epoch_mismatch', epoch: message.epoch, offset: message.offset - 1 };
      for (const local of locals) context.callSafely(() => local.options.onRecoveryFailed?.(failure));
    }
    let data: unknown = message.data;
    const parsedTopic = parseTopic(message.topic);
    if (this.#schemas.length > 0 && parsedTopic.ok) {
      const result = validatePayload(this.#schemas, parsedTopic.value.segments, data);
      if (!result.ok) {
        const error = new SwitchboardError(ClientErrorCode.invalidPayload, `${message.topic} offset ${message.offset}: ${result.problem}`, { topic: message.topic });
        for (const local of locals) context.callSafely(() => (local.options.onError === undefined ? context.report(error) : local.options.onError(error)));
        return;
      }
      data = result.value;
    }
    const delivered: Message<unknown> = { topic: message.topic, data, priority: message.priority, offset: message.offset, epoch: message.epoch };
    for (const local of locals) {
      if (local.subscription.state === 'ended') continue;
      context.callSafely(() => local.handler(delivered));
    }
  }

  receiveChunk(connection: Connection, message: InboundChunk): void {
    const outcome = connection.inbound!.receive(message);
    this.#armChunkTimer(connection);
    if (outcome.kind === 'delivery') this.deliver(outcome.message);
    else if (outcome.kind === 'presence' || outcome.kind === 'presence_failed') this.#presence(outcome);
    else if (outcome.kind === 'missed') this.#missed(outcome.header, outcome.error.message);
    else if (outcome.kind === 'invalid') this.#context.report(new SwitchboardError(ClientErrorCode.badServerMessage, `chunk: ${outcome.error.code}: ${outcome.error.message}`));
  }

  /** The broker cancelled one of its chunked deliveries (protocol.md §7.4); the `gap` it sends next reports it. */
  receiveCancel(connection: Connection, transfer: number): void {
    connection.inbound?.cancel(transfer);
    this.#armChunkTimer(connection);
  }

  receiveGap(message: GapMessage): void {
    this.#positions.cover(message.topic, message.epoch, message.from, message.to);
    const gap: Gap = { topic: message.topic, epoch: message.epoch, from: message.from, to: message.to, reason: message.reason };
    for (const local of this.#subscriptions.match(message.topic)) this.#context.callSafely(() => local.options.onGap?.(gap));
  }

  /** A chunked delivery this client abandoned: a gap of one message, left out of the position (§7.4). */
  #missed(header: DeliveryHeader, why: string): void {
    const gap: Gap = { topic: header.topic, epoch: header.epoch, from: header.offset, to: header.offset, reason: 'abandoned' };
    for (const local of this.#subscriptions.match(header.topic)) this.#context.callSafely(() => local.options.onGap?.(gap));
    this.#context.report(new SwitchboardError(ClientErrorCode.badServerMessage, `abandoned the chunked delivery of ${header.topic} offset ${header.offset}: ${why}`, { topic: header.topic }));
  }

  /** One timer per connection, for the transfer that goes quiet first (the broker's `chunkTimeoutMs`). */
  #armChunkTimer(connection: Connection): void {
    const { clock } = this.#context;
    clock.clearTimeout(connection.chunkTimer);
    connection.chunkTimer = undefined;
    const at = connection.inbound?.nextExpiryAt();
    if (at === undefined) return;
    connection.chunkTimer = clock.setTimeout(() => {
      connection.chunkTimer = undefined;
      if (this.#context.connection !== connection || connection.inbound === undefined) return;
      for (const outcome of connection.inbound.expire()) {
        if (outcome.kind === 'missed') this.#missed(outcome.header, outcome.error.message);
        else if (outcome.kind === 'presence_failed') this.#presence(outcome);
      }
      this.#armChunkTimer(connection);
    }, Math.max(0, at - clock.now()));
  }
}

/** A message from the broker, decoded and handed to the part of the client it is for. */
import { type ErrorMessage, type ProtocolErrorCode, decodeServerMessage } from '@switchboard/protocol';
import type { ClientContext } from './client-context.js';
import type { Connection } from './connection.js';
import type { ConnectionLifecycle } from './connection-lifecycle.js';
import { ClientErrorCode, SwitchboardError } from './errors.js';
import type { MessageDelivery } from './message-delivery.js';
import type { Pings } from './pings.js';
import type { PresenceRequests } from './presence-requests.js';
import type { RpcRequests } from './rpc-requests.js';
import type { PublishPipeline } from './publish-pipeline.js';
import type { ServerSubscriptions } from './server-subscriptions.js';
import type { SubscriptionEffects } from './subscription-effects.js';
import { receiveRefreshed, refreshRefused, refreshToken } from './token-refresh.js';

/** The parts a server message can be for. */
export interface InboundTargets {
  /** Takes the connection's first message (protocol.md §2.3). */
  readonly lifecycle: ConnectionLifecycle;
  readonly subscriptions: SubscriptionEffects;
  readonly serverSubscriptions: ServerSubscriptions;
  readonly presenceRequests: PresenceRequests;
  readonly rpcRequests: RpcRequests;
  readonly publishes: PublishPipeline;
  readonly deliveries: MessageDelivery;
  readonly pings: Pings;
}

/**
 * Decodes what the current connection receives and routes it by `op`; an `error` by the request id or
 * transfer it names. What nobody claims, and what cannot be decoded, is reported as an `error` event.
 */
export class InboundDispatch {
  readonly #context: ClientContext;
  readonly #targets: InboundTargets;

  constructor(context: ClientContext, targets: InboundTargets) {
    this.#context = context;
    this.#targets = targets;
  }

  receive(connection: Connection, data: string | Uint8Array): void {
    // Every op of protocol.md §5.2, §13 and §14; the broker sends those of §13/§14 only when asked.
    const decoded = decodeServerMessage(data);
    if (!decoded.ok) {
      // protocol.md §1: a client ignores an `op` it does not know (v1 may add ops).
      if (decoded.error.code === 'unknown_op') return;
      if (decoded.transfer !== undefined) connection.inbound?.abandon(decoded.transfer);
      this.#context.report(new SwitchboardError(ClientErrorCode.badServerMessage, `could not decode a server message: ${decoded.error.code}: ${decoded.error.message}`));
      return;
    }
    const message = decoded.message;
    if (connection.welcome === undefined && message.op !== 'welcome') {
      // protocol.md §2.3: "The first message the server sends on every connection is `welcome`".
      this.#context.report(new SwitchboardError(ClientErrorCode.badServerMessage, `the broker sent ${message.op} before welcome`));
      return;
    }
    const targets = this.#targets;
    switch (message.op) {
      case 'welcome':
        return targets.lifecycle.receiveWelcome(connection, message);
      case 'subscribed':
        return targets.subscriptions.receiveSubscribed(message);
      case 'unsubscribed':
        targets.serverSubscriptions.receiveUnsubscribed(message);
        return targets.subscriptions.receiveUnsubscribed(message);
      case 'published':
        return targets.publishes.receivePublished(message);
      case 'refreshed':
        return receiveRefreshed(this.#context, connection, message);
      case 'pong':
        return targets.pings.receivePong(connection, message.id);
      case 'message':
        return targets.deliveries.deliver(message);
      case 'chunk':
        return targets.deliveries.receiveChunk(connection, message);
      case 'gap':
        return targets.deliveries.receiveGap(message);
      case 'cancel':
        return targets.deliveries.receiveCancel(connection, message.transfer);
      case 'error':
        return this.#receiveError(connection, message);
      case 'presence':
        // The member list takes any snapshot first (synchronously, before later entries), then the caller.
        targets.subscriptions.members.receiveSnapshot(message);
        return void targets.presenceRequests.receive(message);
      case 'presence_stats':
        if (message.id !== undefined) return void targets.presenceRequests.receive(message);
        return targets.subscriptions.members.receive(message);
      case 'join':
      case 'leave':
        return targets.subscriptions.members.receive(message);
      case 'presence_gap':
        return targets.subscriptions.members.receiveGap(message);
      case 'server_subscribe':
        return targets.serverSubscriptions.receiveServerSubscribe(message);
      case 'rpc_result':
        return targets.rpcRequests.receive(message);
    }
  }

  #receiveError(connection: Connection, message: ErrorMessage): void {
    const details = {
      ...(message.retryAfterMs === undefined ? {} : { retryAfterMs: message.retryAfterMs }),
      ...(message.topic === undefined ? {} : { topic: message.topic }),
    };
    const { id, transfer } = message;
    const targets = this.#targets;
    if (id !== undefined) {
      if (
        targets.publishes.refused(id, message, details) ||
        targets.subscriptions.refused({ ...message, id }) ||
        targets.presenceRequests.refused(id, message, details) ||
        targets.rpcRequests.refused(id, message, details) ||
        refreshRefused(this.#context, connection, id, message, details) ||
        targets.pings.refused(id, message, details)
      ) {
        return;
      }
    }
    if (transfer !== undefined && targets.publishes.transferRefused(connection, transfer, message, details)) return;
    if (message.code === 'token_expired' && id === undefined) {
      // protocol.md §9: the broker keeps serving for tokenGraceMs; a refresh in that time keeps the connection.
      void refreshToken(this.#context, connection);
    }
    this.#context.report(new SwitchboardError(message.code as ProtocolErrorCode, message.message, details));
  }
}

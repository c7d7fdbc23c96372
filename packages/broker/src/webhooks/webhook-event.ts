import { randomBytes } from 'node:crypto';
import type { WebhookEventType } from '../config/options-webhooks.js';
import type { Payload, PresenceMember, StreamPosition } from '../engine/engine.js';

/**
 * One event as it travels: its JSON text, built once when the event happens (docs/operations.md "Webhook
 * events"). Queues hold the text, so a retry sends the very same bytes, ids included, and a publication's
 * JSON payload or a member's info (already JSON text) is spliced in without being parsed.
 */
export interface WebhookEvent {
  readonly id: string;
  readonly type: WebhookEventType;
  readonly json: string;
}

/** The fields every event of a kind carries beyond `id`, `type`, `time` and `node`. */
export type WebhookEventFields =
  | { readonly type: 'connection.opened'; readonly member: PresenceMember }
  | { readonly type: 'connection.closed'; readonly member: PresenceMember; readonly code: number }
  | { readonly type: 'publication'; readonly topic: string; readonly payload: Payload; readonly position: StreamPosition; readonly member: PresenceMember }
  | { readonly type: 'presence.member_added'; readonly topic: string; readonly member: PresenceMember }
  | { readonly type: 'presence.member_removed'; readonly topic: string; readonly member: PresenceMember; readonly reason: string }
  | { readonly type: 'topic.occupied' | 'topic.vacated'; readonly topic: string };

/**
 * Event ids: a random prefix per process and a counter. Unique across nodes and restarts without
 * coordination; the backend de-duplicates on them (a retried batch carries the same ids).
 */
export class WebhookEventIds {
  private readonly prefix = `ev_${randomBytes(9).toString('base64url')}_`;
  private counter = 0;

  next(): string {
    this.counter++;
    return `${this.prefix}${this.counter.toString(36)}`;
  }
}

/** Builds an event's JSON text. `time` is ms since the Unix epoch. */
export function webhookEvent(id: string, node: string, time: number, fields: WebhookEventFields): WebhookEvent {
  const parts = [`"id":${JSON.stringify(id)}`, `"type":"${fields.type}"`, `"time":${time}`, `"node":${JSON.stringify(node)}`];
  const topic = 'topic' in fields ? fields.topic : undefined;
  if (topic !== undefined) parts.push(`"topic":${JSON.stringify(topic)}`);
  if ('member' in fields) parts.push(...memberParts(fields.member, fields.type === 'connection.opened' || fields.type === 'presence.member_added'));
  switch (fields.type) {
    case 'connection.closed':
      parts.push(`"code":${fields.code}`);
      break;
    case 'presence.member_removed':
      parts.push(`"reason":${JSON.stringify(fields.reason)}`);
      break;
    case 'publication': {
      const { payload, position } = fields;
      parts.push(`"offset":${position.offset}`, `"epoch":${JSON.stringify(position.epoch)}`);
      parts.push(payload.encoding === 'json' ? `"data":${payload.text}` : `"dataBase64":"${Buffer.from(payload.bytes).toString('base64')}"`);
      break;
    }
    default:
      break;
  }
  return { id, type: fields.type, json: `{${parts.join(',')}}` };
}

function memberParts(member: PresenceMember, withInfo: boolean): string[] {
  const parts = [`"connectionId":${JSON.stringify(member.connectionId)}`];
  if (member.user !== undefined) parts.push(`"user":${JSON.stringify(member.user)}`);
  if (withInfo && member.info !== undefined) parts.push(`"info":${member.info}`);
  return parts;
}

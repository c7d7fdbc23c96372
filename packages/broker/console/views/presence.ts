import { ApiError, call, query } from '../api.js';
import { byId, fill, h } from '../dom.js';

interface PresenceAnswer {
  readonly topic: string;
  readonly stats: { readonly connections: number; readonly users: number; readonly anonymous: number };
  readonly truncated: boolean;
  readonly users?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly anonymous?: Readonly<Record<string, unknown>>;
}

/** A topic's presence: counts, and its members unless the topic is over PRESENCE_MAX_MEMBERS. */
export function setUpPresence(): (topic: string) => void {
  const form = byId<HTMLFormElement>('presence-form');
  const input = byId<HTMLInputElement>('presence-topic');
  const result = byId('presence-result');
  const show = async () => {
    const topic = input.value.trim();
    if (topic === '') return;
    try {
      const answer = await call<PresenceAnswer>('GET', `/admin/presence?${query({ topic })}`);
      const { connections, users, anonymous } = answer.stats;
      const members = Object.entries(answer.users ?? {}).map(([user, byConnection]) => h('li', {}, `${user}: ${Object.keys(byConnection).join(', ')}`));
      const guests = Object.keys(answer.anonymous ?? {}).map((connectionId) => h('li', {}, `anonymous: ${connectionId}`));
      fill(
        result,
        h('p', { 'data-field': 'presence-stats' }, `${connections} connections · ${users} users · ${anonymous} anonymous`),
        answer.truncated ? h('p', { class: 'empty' }, 'Too many members to list.') : h('ul', { class: 'members' }, ...members, ...guests),
      );
    } catch (error) {
      fill(result, h('p', { class: 'error' }, error instanceof ApiError ? error.message : String(error)));
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void show();
  });
  return (topic) => {
    input.value = topic;
  };
}

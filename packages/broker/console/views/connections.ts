import type { ConnectionDetail } from '../../src/console/console-connection.js';
import { ApiError, call, query } from '../api.js';
import { confirmAction } from '../confirm.js';
import { byId, fill, h } from '../dom.js';
import { bytes, clock, count } from '../format.js';

/**
 * Search for a connection (by id) or a user, with each connection's detail and the disconnect actions, on
 * whichever node it is (the node serving the page asks that one through the engine).
 */
export function setUpConnections(notice: (text: string) => void): void {
  const form = byId<HTMLFormElement>('search-form');
  const input = byId<HTMLInputElement>('search');
  const results = byId('search-results');
  const search = async () => {
    const q = input.value.trim();
    if (q === '') return fill(results);
    try {
      const answer = await call<{ connections: ConnectionDetail[]; truncated: boolean; complete: boolean }>('GET', `/admin/connections?${query({ q })}`);
      if (answer.connections.length === 0) return fill(results, h('p', { class: 'empty' }, `No open connection or user matches “${q}”.`));
      fill(
        results,
        ...answer.connections.map((connection) => card(connection)),
        answer.truncated ? h('p', { class: 'empty' }, 'More match: narrow the search.') : undefined,
        answer.complete ? undefined : h('p', { class: 'error' }, 'Not every node answered: connections there are not shown.'),
      );
    } catch (error) {
      fill(results, h('p', { class: 'error' }, error instanceof ApiError ? error.message : String(error)));
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void search();
  });

  const card = (connection: ConnectionDetail): HTMLElement => {
    const lanes = Object.entries(connection.queue).map(([lane, depth]) => h('span', { class: 'lane', 'data-lane': lane }, `${lane} ${count(depth)}`));
    const disconnect = h('button', { type: 'button', class: 'danger', 'data-action': 'disconnect' }, 'Disconnect');
    disconnect.addEventListener('click', async () => {
      const who = `${connection.connectionId}${connection.user === undefined ? '' : ` (${connection.user})`} on ${connection.node}`;
      const answer = await confirmAction(`Disconnect ${who}? It is closed with 4404 and told not to reconnect, or with 4103 and told to reconnect at once.`, {
        label: 'Tell it to reconnect (4103)',
        value: 'false',
        type: 'checkbox',
      });
      if (!answer.confirmed) return;
      try {
        const result = await call<{ node: string; closeCode: number }>('POST', `/admin/connections/${encodeURIComponent(connection.connectionId)}/disconnect`, {
          reconnect: answer.value === 'true',
        });
        notice(`Disconnected ${connection.connectionId} on ${result.node} (${result.closeCode}).`);
      } catch (error) {
        notice(`Disconnect refused: ${error instanceof ApiError ? error.message : String(error)}`);
      }
      await search();
    });
    const user = connection.user;
    const disconnectUser = user === undefined ? undefined : h('button', { type: 'button', class: 'danger', 'data-action': 'disconnect-user' }, 'Disconnect user');
    disconnectUser?.addEventListener('click', async () => {
      if (user === undefined) return;
      const { confirmed } = await confirmAction(`Disconnect every connection of user “${user}” on every node? They are closed with 4404 and told not to reconnect.`);
      if (!confirmed) return;
      try {
        const answer = await call<{ connections: unknown[]; complete: boolean }>('POST', `/admin/users/${encodeURIComponent(user)}/disconnect`, {});
        notice(`Disconnected ${answer.connections.length} connection(s) of ${user}${answer.complete ? '' : ' (some nodes did not answer)'}.`);
      } catch (error) {
        notice(`Disconnect refused: ${error instanceof ApiError ? error.message : String(error)}`);
      }
      await search();
    });
    return h(
      'article',
      { class: 'connection', 'data-connection': connection.connectionId },
      h('h3', {}, connection.connectionId),
      h(
        'dl',
        {},
        h('dt', {}, 'User'),
        h('dd', { 'data-field': 'user' }, connection.user ?? 'anonymous'),
        h('dt', {}, 'Node'),
        h('dd', {}, connection.node),
        h('dt', {}, 'Address'),
        h('dd', {}, connection.remoteAddress ?? '?'),
        h('dt', {}, 'Connected'),
        h('dd', {}, connection.connectedAt === undefined ? '?' : `${new Date(connection.connectedAt).toLocaleDateString('en-CA')} ${clock(connection.connectedAt).slice(0, 8)}`),
        h('dt', {}, 'Subscriptions'),
        h('dd', { 'data-field': 'subscriptions' }, count(connection.subscriptionCount), connection.subscriptions.length > 0 ? ` · ${connection.subscriptions.join(', ')}` : ''),
        h('dt', {}, 'Queued'),
        h('dd', {}, `${bytes(connection.queuedBytes)} · `, ...lanes, connection.pendingGaps > 0 ? ` · ${connection.pendingGaps} gap notices` : ''),
      ),
      h('p', { class: 'actions' }, disconnect, disconnectUser),
    );
  };
}

import type { TopicRow } from '../../src/console/topic-ranking.js';
import { byId, fill, h } from '../dom.js';
import { count, rate } from '../format.js';

/** The busiest topics of the cluster; choosing one fills the tail, presence and publish forms with it. */
export function renderTopics(topics: readonly TopicRow[], choose: (topic: string) => void): void {
  const table = byId('topics');
  if (topics.length === 0) {
    fill(table, h('tbody', {}, h('tr', {}, h('td', { class: 'empty' }, 'No publications in the last second.'))));
    return;
  }
  const rows = topics.map((row) => {
    const name = h('button', { type: 'button', class: 'link', title: 'Tail, presence and publish use this topic' }, row.topic);
    name.addEventListener('click', () => choose(row.topic));
    return h(
      'tr',
      { 'data-topic': row.topic },
      h('th', { scope: 'row', 'data-label': 'Topic' }, name),
      h('td', { 'data-field': 'publicationsPerSecond', 'data-label': 'Msgs/s' }, rate(row.publicationsPerSecond)),
      h('td', { 'data-field': 'deliveriesPerSecond', 'data-label': 'Deliveries/s' }, rate(row.deliveriesPerSecond)),
      h('td', { 'data-field': 'subscribers', 'data-label': 'Subscribers' }, count(row.subscribers)),
    );
  });
  const head = h('tr', {}, h('th', { scope: 'col' }, 'Topic'), h('th', { scope: 'col' }, 'Msgs/s'), h('th', { scope: 'col' }, 'Deliveries/s'), h('th', { scope: 'col' }, 'Subscribers'));
  fill(table, h('thead', {}, head), h('tbody', {}, ...rows));
}

import type { ConnectionDetail } from './console-connection.js';
import type { NodeAnswer } from './console-figures.js';
import type { NodeReport } from './node-report.js';
import type { TopicRow } from './topic-ranking.js';

/** The cluster as the console shows it: every node that answered a `node-report` command, merged. */
export interface ClusterView {
  /** The answering nodes, by name. */
  readonly nodes: readonly NodeReport[];
  /**
   * The busiest topics over all nodes: a publication reaches every node with a subscriber to it, so its rate
   * is the highest any node saw; deliveries and subscribers add up.
   */
  readonly topics: readonly TopicRow[];
  readonly connections: readonly ConnectionDetail[];
  /** Some node had more connections matching the search than it listed. */
  readonly truncated: boolean;
  /** Every node that received the command answered in time. */
  readonly complete: boolean;
  readonly nodesExpected: number;
  readonly nodesAnswered: number;
}

/**
 * Merges the nodes' answers (the `report` of each entry of the command's result; entries without one, from
 * a node of another version, are left out) into one view.
 */
export function clusterView(
  entries: readonly { readonly report?: unknown }[],
  outcome: { readonly nodes: { readonly expected: number; readonly answered: number }; readonly complete: boolean },
  topicLimit: number,
): ClusterView {
  const answers = entries.flatMap((entry) => (isAnswer(entry.report) ? [entry.report] : []));
  const nodes = answers.map((answer) => answer.report).sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  const byTopic = new Map<string, { publicationsPerSecond: number; deliveriesPerSecond: number; subscribers: number }>();
  for (const answer of answers) {
    for (const row of answer.topics.topics) {
      const merged = byTopic.get(row.topic);
      if (merged === undefined) {
        byTopic.set(row.topic, { publicationsPerSecond: row.publicationsPerSecond, deliveriesPerSecond: row.deliveriesPerSecond, subscribers: row.subscribers });
      } else {
        merged.publicationsPerSecond = Math.max(merged.publicationsPerSecond, row.publicationsPerSecond);
        merged.deliveriesPerSecond += row.deliveriesPerSecond;
        merged.subscribers += row.subscribers;
      }
    }
  }
  const topics = [...byTopic]
    .map(([topic, row]) => ({ topic, ...row }))
    .sort((a, b) => b.publicationsPerSecond - a.publicationsPerSecond || b.deliveriesPerSecond - a.deliveriesPerSecond || (a.topic < b.topic ? -1 : 1))
    .slice(0, topicLimit);
  return {
    nodes,
    topics,
    connections: answers.flatMap((answer) => answer.connections),
    truncated: answers.some((answer) => answer.truncated),
    complete: outcome.complete,
    nodesExpected: outcome.nodes.expected,
    nodesAnswered: outcome.nodes.answered,
  };
}

function isAnswer(value: unknown): value is NodeAnswer {
  if (typeof value !== 'object' || value === null) return false;
  const answer = value as Partial<Record<keyof NodeAnswer, unknown>>;
  return typeof answer.report === 'object' && answer.report !== null && typeof answer.topics === 'object' && answer.topics !== null && Array.isArray(answer.connections);
}

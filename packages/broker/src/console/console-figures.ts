import { type NodeReport, NodeReporter, type NodeReportSources } from './node-report.js';
import type { BrokerStats } from '../stats.js';
import { type ConnectionDetail, type ConsoleConnection, connectionDetail, findConnections } from './console-connection.js';
import { type BusiestTopics, TopicRanking } from './topic-ranking.js';

/** What one node answers when the console asks every node (the `node-report` command). */
export interface NodeAnswer {
  readonly report: NodeReport;
  readonly topics: BusiestTopics;
  /** Its connections the command's `find` names (none without `find`), and whether more matched. */
  readonly connections: readonly ConnectionDetail[];
  readonly truncated: boolean;
}

/** Connections one node lists for a search. */
export const connectionsPerSearch = 50;

/**
 * This node's figures for the console, one per broker: the routes read them for the node that serves the
 * page, and the node answers other nodes' `node-report` commands with them. Rates and topic windows are
 * measured between readings (`RateMeter`, `TopicRanking`), so nothing runs while nobody looks.
 */
export class ConsoleFigures {
  readonly reporter: NodeReporter;
  readonly ranking: TopicRanking;
  private readonly now: () => number;

  constructor(sources: NodeReportSources & { readonly stats: BrokerStats }, now: () => number = Date.now) {
    this.now = now;
    this.reporter = new NodeReporter(sources, now());
    this.ranking = new TopicRanking(sources.stats.topicActivity, now());
  }

  /**
   * This node's answer to a `node-report` command, now, without waiting on the engine (readiness as the node
   * knows it): its figures, its `topics` busiest topics, and the connections `find` names: the one with that
   * id, else those whose user contains it.
   */
  answer(command: { readonly topics: number; readonly find?: string }, connections: ReadonlyMap<string, ConsoleConnection>): NodeAnswer {
    const time = this.now();
    const report = this.reporter.report(time, this.reporter.knownReadiness());
    const topics = this.ranking.busiest(time, Math.max(0, Math.min(100, command.topics)));
    const { find } = command;
    if (find === undefined) return { report, topics, connections: [], truncated: false };
    const exact = connections.get(find.trim());
    const { found, truncated } = exact?.isOpen === true ? { found: [exact], truncated: false } : findConnections(connections.values(), find, connectionsPerSearch);
    return { report, topics, connections: found.map((connection) => connectionDetail(connection, report.node)), truncated };
  }
}

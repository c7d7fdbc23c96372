import { type NodeReport, NodeReporter, type NodeReportSources } from './node-report.js';
import type { BrokerStats } from '../stats.js';
import { type BusiestTopics, TopicRanking } from './topic-ranking.js';

/** What one node answers when the console asks every node: its report and its busiest topics. */
export interface NodeFigures {
  readonly report: NodeReport;
  readonly topics: BusiestTopics;
}

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

  /** The figures now, without waiting on the engine (readiness as the node knows it): for commands. */
  current(topicLimit: number): NodeFigures {
    const time = this.now();
    return { report: this.reporter.report(time, this.reporter.knownReadiness()), topics: this.ranking.busiest(time, topicLimit) };
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { Peer } from '../helpers/pubsub-peer.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { startBroker } from '../helpers/start-broker.js';

/**
 * deploy/grafana/switchboard.json against a real broker: every metric its PromQL queries must be one that
 * the broker's /metrics exports (Redis engine, on a private redis-server, with a little traffic), so a
 * renamed metric breaks this test instead of a panel. Also the monitoring profile's files: compose mounts
 * what exists, Prometheus scrapes the brokers compose runs, Grafana finds Prometheus and the dashboard.
 */

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const readRepoFile = (path: string): string => readFileSync(join(repoRoot, path), 'utf8');

interface Query {
  /** Which panel or variable, for the failure message. */
  readonly where: string;
  readonly expr: string;
}

interface DashboardPanel {
  readonly title?: string;
  readonly targets?: readonly { readonly expr?: string; readonly refId?: string }[];
  readonly panels?: readonly DashboardPanel[];
}

interface Dashboard {
  readonly panels: readonly DashboardPanel[];
  readonly templating: { readonly list: readonly { readonly name: string; readonly type: string; readonly query?: unknown }[] };
}

/** Every PromQL expression of a dashboard: panel targets (rows' nested panels too) and query variables. */
function queriesOf(dashboard: Dashboard): Query[] {
  const queries: Query[] = [];
  const visit = (panels: readonly DashboardPanel[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr !== undefined) queries.push({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr });
      }
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query: string }).query;
    // label_values(metric, label) names a metric; any other variable query is PromQL.
    const labelValues = /^label_values\(\s*([^,]+),/.exec(query);
    queries.push({ where: `variable $${variable.name}`, expr: labelValues?.[1] ?? query });
  }
  return queries;
}

/** PromQL's own words that look like identifiers but are not metrics. */
const promqlKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The metric names a PromQL expression reads: identifiers left once strings, label matchers, ranges,
 * `by (...)`-style label lists and Grafana variables are removed, other than function calls and keywords.
 */
export function metricNamesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\{?\w+\}?/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/(?<![\w.:])[A-Za-z_:][\w:]*/g)) {
    const rest = stripped.slice(match.index + match[0].length);
    if (/^\s*\(/.test(rest) || promqlKeywords.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/**
 * The series names a Prometheus text exposition can hold: every sample's name, and for each declared
 * family its name (counters, gauges) or its `_bucket`/`_sum`/`_count` (histograms; `_sum`/`_count` and the
 * name for summaries). A labelled counter nothing has incremented yet is declared but has no sample.
 */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      const [, family, kind] = type as unknown as [string, string, string];
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(family + suffix);
      else if (kind === 'summary') for (const suffix of ['', '_sum', '_count']) names.add(family + suffix);
      else names.add(family);
      continue;
    }
    const sample = /^([A-Za-z_:][\w:]*)[{ ]/.exec(line);
    if (sample !== null) names.add(sample[1] as string);
  }
  return names;
}

/** Queries naming a metric `exported` lacks, and queries that name no metric at all (a parsing slip). */
function checkDashboard(dashboard: Dashboard, exported: Set<string>): { missing: string[]; empty: string[]; names: Set<string> } {
  const missing: string[] = [];
  const empty: string[] = [];
  const names = new Set<string>();
  for (const { where, expr } of queriesOf(dashboard)) {
    const found = metricNamesOf(expr);
    if (found.length === 0) empty.push(`${where}: ${expr}`);
    for (const name of found) {
      names.add(name);
      if (!exported.has(name)) missing.push(`${where} queries ${name}`);
    }
  }
  return { missing, empty, names };
}

const dashboard = JSON.parse(readRepoFile('deploy/grafana/switchboard.json')) as Dashboard;

t.test('metricNamesOf: metrics only, not functions, labels, ranges, keywords or variables', async (t) => {
  t.same(metricNamesOf('histogram_quantile(0.99, sum by (le, node) (rate(a_seconds_bucket{node=~"$node"}[$__rate_interval])))'), ['a_seconds_bucket']);
  t.same(metricNamesOf('sum without (code) (rate(x_total{code="4001"}[5m] offset 1h)) / on (node) group_left b_gauge'), ['x_total', 'b_gauge']);
  t.same(metricNamesOf('max(c) by (node) > 1e3 and d unless e{le="+Inf"}'), ['c', 'd', 'e']);
  t.same(metricNamesOf('label_replace(f, "dst", "$1", "src", "(.*)")'), ['f']);
});

t.test('every metric the Grafana dashboard queries exists in a broker\'s /metrics (Redis engine, after traffic)', async (t) => {
  const redis = await startRedisServer();
  t.teardown(() => redis.destroy());
  const broker = await startBroker(t, { redisUrl: redis.url, nodeName: 'dashboard-node' });
  const subscriber = await Peer.open(broker.url);
  const publisher = await Peer.open(broker.url);
  t.teardown(() => Promise.all([subscriber.close(), publisher.close()]));
  // Two patterns on two Redis channels (the topic's and its prefix's): the node receives dashboard.a twice.
  await subscriber.subscribe('dashboard.>');
  await subscriber.subscribe('dashboard.a');
  for (let i = 0; i < 5; i++) await publisher.publish('dashboard.a', { i });
  const posted = await broker.app.inject({ method: 'POST', url: '/publish', payload: { topic: 'dashboard.b', data: 'from http' } });
  t.equal(posted.statusCode, 200, 'POST /publish');
  await subscriber.waitForDeliveries(6);
  const history = await broker.app.inject({ url: '/history?topic=dashboard.a&limit=10' });
  t.equal(history.statusCode, 200, 'GET /history (a Redis history read)');

  const text = (await broker.app.inject({ url: '/metrics' })).body;
  const exported = exportedNames(text);
  const { missing, empty, names } = checkDashboard(dashboard, exported);
  t.same(missing, [], 'no panel queries a metric /metrics does not export');
  t.same(empty, [], 'every query names a metric (else the extraction missed it)');
  t.ok(names.size >= 30, `the dashboard queries ${names.size} metrics`);

  // The latency panels have data to show: the histograms they read were observed.
  const count = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
  t.equal(count('switchboard_delivery_latency_seconds_count{node="dashboard-node"}'), 6, 'one per publication, not per Redis copy');
  t.equal(count('switchboard_publish_ack_latency_seconds_count{node="dashboard-node",source="websocket"}'), 5);
  t.equal(count('switchboard_publish_ack_latency_seconds_count{node="dashboard-node",source="http"}'), 1);
  t.ok(count('switchboard_engine_command_duration_seconds_count{node="dashboard-node",command="publish"}') >= 6, 'publish scripts timed');
  t.ok(count('switchboard_engine_command_duration_seconds_count{node="dashboard-node",command="history"}') >= 1, 'history reads timed');
  t.equal(count('switchboard_engine_up{node="dashboard-node"}'), 1);

  // And the check does fail: a panel naming a metric that does not exist is reported.
  const broken: Dashboard = {
    ...dashboard,
    panels: [...dashboard.panels, { title: 'Broken', targets: [{ refId: 'A', expr: 'sum(rate(switchboard_no_such_thing_total[5m]))' }] }],
  };
  t.same(checkDashboard(broken, exported).missing, ['panel "Broken" A queries switchboard_no_such_thing_total']);
});

t.test('the monitoring profile: compose mounts existing files, Prometheus scrapes the brokers, Grafana finds both', async (t) => {
  type Service = {
    profiles?: string[];
    volumes?: string[];
    environment?: Record<string, string>;
    ports?: string[];
  };
  const compose = parse(readRepoFile('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
  const { prometheus, grafana } = compose.services;
  for (const [name, service] of [['prometheus', prometheus], ['grafana', grafana]] as const) {
    t.same(service?.profiles, ['monitoring'], `${name} runs only with --profile monitoring`);
    for (const volume of service?.volumes ?? []) {
      const source = volume.split(':')[0] as string;
      t.ok(existsSync(join(repoRoot, source)), `${name} mounts ${source}, which exists`);
    }
  }
  const mountOf = (service: Service | undefined, source: string) =>
    service?.volumes?.map((volume) => volume.split(':')).find(([from]) => from === source)?.[1];

  // Prometheus scrapes every broker service compose runs, on the port it listens on.
  const brokers = Object.entries(compose.services)
    .filter(([, service]) => service.environment?.NODE_NAME !== undefined)
    .map(([name, service]) => `${name}:${service.environment?.PORT ?? '8080'}`);
  t.ok(brokers.length >= 2, `compose runs ${brokers.join(', ')}`);
  const prometheusConfig = parse(readRepoFile('deploy/prometheus/prometheus.yml')) as {
    scrape_configs: { metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };
  t.equal(mountOf(prometheus, './deploy/prometheus/prometheus.yml'), '/etc/prometheus/prometheus.yml');
  const scrape = prometheusConfig.scrape_configs[0];
  t.equal(scrape?.metrics_path ?? '/metrics', '/metrics');
  t.same(scrape?.static_configs.flatMap((config) => config.targets).sort(), brokers.sort(), 'every broker is scraped');

  // Grafana: the data source is compose's Prometheus, and the provider reads the folder the dashboard is mounted in.
  const provisioning = mountOf(grafana, './deploy/grafana/provisioning');
  t.equal(provisioning, '/etc/grafana/provisioning');
  const datasources = parse(readRepoFile('deploy/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { type: string; url: string }[] };
  t.match(datasources.datasources, [{ type: 'prometheus', url: `http://prometheus:${(prometheus?.ports?.[0] ?? '').split(':')[1]}` }]);
  const providers = parse(readRepoFile('deploy/grafana/provisioning/dashboards/switchboard.yml')) as { providers: { options: { path: string } }[] };
  const dashboardMount = mountOf(grafana, './deploy/grafana/switchboard.json');
  t.equal(dashboardMount, `${providers.providers[0]?.options.path}/switchboard.json`, 'the provider loads the mounted dashboard');
  t.equal(grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, dashboardMount);
});

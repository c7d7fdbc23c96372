import type { NodeReport } from '../../src/console/node-report.js';
import { ApiError, call } from '../api.js';
import { confirmAction } from '../confirm.js';
import { byId, fill, h } from '../dom.js';
import { bytes, count, duration, rate } from '../format.js';

interface Column {
  readonly field: string;
  readonly label: string;
  readonly value: (node: NodeReport) => string;
}

const columns: readonly Column[] = [
  { field: 'version', label: 'Version', value: (node) => node.version },
  { field: 'uptime', label: 'Uptime', value: (node) => duration(node.uptimeSeconds) },
  { field: 'ready', label: 'Ready', value: (node) => (node.ready ? 'ready' : `not ready${node.readyReason === undefined ? '' : `: ${node.readyReason}`}`) },
  { field: 'connections', label: 'Connections', value: (node) => count(node.connections) },
  { field: 'subscriptions', label: 'Subscriptions', value: (node) => count(node.subscriptions) },
  { field: 'messagesInPerSecond', label: 'Msgs in/s', value: (node) => rate(node.messagesInPerSecond) },
  { field: 'messagesOutPerSecond', label: 'Msgs out/s', value: (node) => rate(node.messagesOutPerSecond) },
  { field: 'bytesInPerSecond', label: 'In/s', value: (node) => bytes(node.bytesInPerSecond) },
  { field: 'bytesOutPerSecond', label: 'Out/s', value: (node) => bytes(node.bytesOutPerSecond) },
  { field: 'queuedBytes', label: 'Queued', value: (node) => bytes(node.queuedBytes) },
  { field: 'slowConsumer', label: 'Slow consumer', value: (node) => `${count(node.deliveriesDropped)} dropped · ${count(node.slowConsumerCloses)} closed` },
  { field: 'gapNotices', label: 'Gap notices', value: (node) => count(node.gapNotices) },
];

/**
 * The cluster's nodes, one row each; any of them can be rebalanced from its row (the node serving the page
 * asks it through the engine).
 */
export function renderNodes(nodes: readonly NodeReport[], notice: (text: string) => void): void {
  const head = h('tr', {}, h('th', { scope: 'col' }, 'Node'), ...columns.map((column) => h('th', { scope: 'col' }, column.label)), h('th', { scope: 'col' }, ''));
  const rows = nodes.map((node) =>
    h(
      'tr',
      { 'data-node': node.node, class: node.ready ? '' : 'not-ready' },
      h('th', { scope: 'row', 'data-label': 'Node' }, node.node),
      ...columns.map((column) => h('td', { 'data-field': column.field, 'data-label': column.label }, column.value(node))),
      h('td', { 'data-label': '' }, rebalanceButton(node, notice)),
    ),
  );
  fill(byId('nodes'), h('thead', {}, head), h('tbody', {}, ...rows));
}

function rebalanceButton(node: NodeReport, notice: (text: string) => void): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'danger', 'data-action': 'rebalance' }, 'Rebalance…');
  button.addEventListener('click', async () => {
    const answer = await confirmAction(`Rebalance ${node.node}: close this fraction of its ${node.connections} connections with 4101 (clients reconnect through the load balancer)?`, {
      label: 'Fraction',
      value: '0.5',
      type: 'number',
      min: '0.01',
      max: '1',
      step: '0.01',
    });
    if (!answer.confirmed) return;
    try {
      const result = await call<{ closing: number; connections: number; complete: boolean }>('POST', '/admin/rebalance', { node: node.node, fraction: Number(answer.value) });
      notice(`Rebalancing ${node.node}: closing ${result.closing} of ${result.connections} connections${result.complete ? '' : ' (some nodes did not answer)'}.`);
    } catch (error) {
      notice(`Rebalance refused: ${error instanceof ApiError ? error.message : String(error)}`);
    }
  });
  return button;
}

// The Switchboard console: signs in with ADMIN_TOKEN, then reads the admin API every second.
import type { NodeReport } from '../src/console/node-report.js';
import type { TopicRow } from '../src/console/topic-ranking.js';
import { ApiError, call, storeToken, storedToken, whenUnauthorized } from './api.js';
import { byId, fill } from './dom.js';
import { clock } from './format.js';
import { setUpConnections } from './views/connections.js';
import { renderNodes } from './views/nodes.js';
import { setUpPresence } from './views/presence.js';
import { setUpPublish } from './views/publish.js';
import { setUpTail } from './views/tail.js';
import { renderTopics } from './views/topics.js';

const pollMs = 1000;

const signIn = byId('sign-in');
const dashboard = byId('dashboard');
const signInError = byId('sign-in-error');
const status = byId('status');
const signOutButton = byId<HTMLButtonElement>('sign-out');
let timer: number | undefined;

function notice(text: string): void {
  fill(byId('notice'), text);
}

function showSignIn(message?: string): void {
  window.clearTimeout(timer);
  timer = undefined;
  tail.stop();
  storeToken(undefined);
  dashboard.hidden = true;
  signOutButton.hidden = true;
  signIn.hidden = false;
  fill(status);
  fill(signInError, message);
  byId<HTMLInputElement>('token').focus();
}

whenUnauthorized(() => showSignIn('The admin token was refused (401). Sign in again.'));

const choosePresence = setUpPresence();
const choosePublish = setUpPublish();
const tail = setUpTail();
setUpConnections(notice);

let servingNode = '';

interface Overview {
  readonly node: string;
  readonly nodes: readonly NodeReport[];
  readonly topics: readonly TopicRow[];
  readonly complete: boolean;
  readonly nodesExpected: number;
  readonly nodesAnswered: number;
}

async function refresh(): Promise<void> {
  const overview = await call<Overview>('GET', '/admin/nodes?topics=15');
  servingNode = overview.node;
  renderNodes(overview.nodes, notice);
  renderTopics(overview.topics, (topic) => {
    tail.choose(topic);
    choosePresence(topic);
    choosePublish(topic);
  });
  const reach = overview.complete ? `${overview.nodes.length} node${overview.nodes.length === 1 ? '' : 's'}` : `${overview.nodesAnswered} of ${overview.nodesExpected} nodes answered`;
  fill(status, `${servingNode} · ${reach} · live · ${clock(Date.now())}`);
  status.className = overview.complete ? 'live' : 'stale';
}

async function loop(): Promise<void> {
  try {
    await Promise.all([refresh(), tail.poll()]);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    fill(status, `connection lost (${error instanceof Error ? error.message : String(error)}): retrying`);
    status.className = 'stale';
  }
  if (storedToken() !== undefined) timer = window.setTimeout(() => void loop(), pollMs);
}

function showDashboard(): void {
  signIn.hidden = true;
  dashboard.hidden = false;
  signOutButton.hidden = false;
  fill(signInError);
  void loop();
}

byId<HTMLFormElement>('sign-in-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const input = byId<HTMLInputElement>('token');
  const token = input.value.trim();
  try {
    // Checked before it is kept: a wrong token is refused here and never stored.
    await call('GET', '/admin/nodes', undefined, token);
  } catch (error) {
    const refused = error instanceof ApiError && error.status === 401;
    fill(signInError, refused ? 'That token was refused (401): check ADMIN_TOKEN.' : `Cannot reach the broker: ${error instanceof Error ? error.message : String(error)}`);
    return;
  }
  input.value = '';
  storeToken(token);
  showDashboard();
});

signOutButton.addEventListener('click', () => showSignIn());

if (storedToken() === undefined) showSignIn();
else showDashboard();

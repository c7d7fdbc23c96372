// The example page: plain JavaScript against the SDK's browser bundle (see topics.ts for the topic map).
import { createClient } from '/switchboard.js';

const params = new URLSearchParams(location.search);
const broker = params.get('broker') ?? 'ws://127.0.0.1:8080/';
const user = params.get('user') ?? `guest${Math.floor(Math.random() * 1000)}`;
const room = (params.get('room') ?? 'lobby').replace(/[^A-Za-z0-9_-]/g, '_'); // one topic segment
// serve.ts signs development tokens (info: {name}); asked again before each connection and before expiry.
const getToken = async () => {
  const response = await fetch(`/token?user=${encodeURIComponent(user)}`);
  if (!response.ok) throw new Error(`no token: ${await response.text()}`);
  return response.text();
};
const client = createClient({ url: broker, getToken });
const $ = (id) => document.getElementById(id);
$('user').textContent = user;
$('room').textContent = `#${room}`;

client.on('state', ({ state, retryInMs }) => {
  $('state').textContent = retryInMs === undefined ? state : `${state}, retrying in ${(retryInMs / 1000).toFixed(1)} s`;
  $('state').className = state;
});
client.on('connected', ({ connectionId, node }) => {
  $('connection').textContent = `${connectionId}${node === undefined ? '' : ` on ${node}`}`;
});
client.on('error', (error) => console.warn(`${error.code}: ${error.message}`));

// Chat: history of this session, resubscribed (and recovered) automatically after a reconnect. With
// presence, the SDK keeps `members` (user -> connection -> info) live from a snapshot and join/leave events.
client.subscribe(`chat.${room}`, ({ data }) => {
  const item = document.createElement('li');
  item.textContent = `${new Date(data.at).toLocaleTimeString()} ${data.user}: ${data.text}`;
  $('messages').append(item);
  item.scrollIntoView();
  stoppedTyping(data.user);
}, {
  presence: 'user',
  onMembers: ({ members, counts }) => {
    const names = [...members].map(([id, connections]) => [...connections.values()][0]?.name ?? id).sort();
    $('members').textContent = `In the room: ${names.join(', ')}`;
    // Counts cover anonymous visitors too, and stay exact past the listed members (`truncated`).
    $('viewing').textContent = counts === undefined ? '' : `${counts.users + counts.anonymous} viewing`;
  },
  onGap: ({ from, to }) => console.warn(`messages ${from}-${to} were lost`),
  onRecoveryFailed: () => console.warn('could not recover missed messages: reload the history'),
  // E.g. `unsupported` from a broker without presence, `presence_disabled` outside its PRESENCE patterns.
  onError: (error) => ($('members').textContent = `no member list (${error.code})`),
});

$('chat').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const message = { user, text: form.text.value, at: Date.now() };
  form.text.value = '';
  typingSentAt = 0;
  try {
    await client.publish(`chat.${room}`, message);
  } catch (error) {
    alert(`not sent (${error.code}): ${error.message}`);
  }
});

// Typing: a disposable hint, not presence (a member's info is fixed at connect). Sent at most every 2 s
// while keys are pressed, at low priority without an ack; shown for 3 s after the last one arrives.
const typing = new Map(); // user -> timer that forgets them
let typingSentAt = 0;
$('chat').text.addEventListener('input', () => {
  if (Date.now() - typingSentAt < 2000) return;
  typingSentAt = Date.now();
  client.publish(`typing.${room}`, { user }, { priority: 'low', ack: false }).catch(() => {}); // a lost hint harms nobody
});
client.subscribe(`typing.${room}`, ({ data }) => {
  if (data.user === user) return;
  clearTimeout(typing.get(data.user));
  typing.set(data.user, setTimeout(() => stoppedTyping(data.user), 3000));
  showTyping();
});
function stoppedTyping(who) {
  clearTimeout(typing.get(who));
  if (typing.delete(who)) showTyping();
}
function showTyping() {
  const names = [...typing.keys()];
  $('typing').textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing...`;
}

// Dashboard: the latest value of each figure.
client.subscribe('metrics.*', ({ topic, data }) => {
  const target = $(topic.replace('.', '-'));
  if (target !== null) target.textContent = `${data.value} ${data.unit}`;
});

// Alerts arrive at high priority, ahead of everything queued for this page.
client.subscribe('alerts.*', ({ data }) => {
  $('alert').textContent = `${data.level}: ${data.text}`;
  $('alert').style.display = 'block';
  setTimeout(() => ($('alert').style.display = 'none'), 4000);
});

// Files: raw bytes, chunked by the SDK when large, never base64.
client.subscribe('files.*', ({ topic, data }) => {
  const item = document.createElement('li');
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([data]));
  link.download = topic.slice('files.'.length);
  link.textContent = `${link.download} (${data.length} bytes)`;
  item.append('file: ', link);
  $('messages').append(item);
});

$('file').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  if (file === undefined) return;
  const name = file.name.replace(/[^A-Za-z0-9_:@-]/g, '_').slice(0, 100);
  $('upload').textContent = `uploading ${file.size} bytes...`;
  try {
    const ack = await client.publish(`files.${name}`, await file.arrayBuffer(), { priority: 'low' });
    $('upload').textContent = `shared (offset ${ack.offset})`;
  } catch (error) {
    $('upload').textContent = `failed: ${error.code}`;
  }
});

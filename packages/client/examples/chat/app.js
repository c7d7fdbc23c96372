// The example page: plain JavaScript against the SDK's browser bundle (see topics.ts for the topic map).
import { createClient } from '/switchboard.js';

const broker = new URLSearchParams(location.search).get('broker') ?? 'ws://127.0.0.1:8080/';
const client = createClient({ url: broker });
const $ = (id) => document.getElementById(id);

client.on('state', ({ state, retryInMs }) => {
  $('state').textContent = retryInMs === undefined ? state : `${state}, retrying in ${(retryInMs / 1000).toFixed(1)} s`;
  $('state').className = state;
});
client.on('connected', ({ connectionId, node }) => {
  $('connection').textContent = `${connectionId}${node === undefined ? '' : ` on ${node}`}`;
});

// Chat: history of this session, resubscribed (and recovered) automatically after a reconnect.
client.subscribe('chat.lobby', ({ data }) => {
  const item = document.createElement('li');
  item.textContent = `${new Date(data.at).toLocaleTimeString()} ${data.user}: ${data.text}`;
  $('messages').append(item);
  item.scrollIntoView();
}, {
  onGap: ({ from, to }) => console.warn(`messages ${from}-${to} were lost`),
  onRecoveryFailed: () => console.warn('could not recover missed messages: reload the history'),
});

$('chat').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const message = { user: form.user.value, text: form.text.value, at: Date.now() };
  form.text.value = '';
  try {
    await client.publish('chat.lobby', message);
  } catch (error) {
    alert(`not sent (${error.code}): ${error.message}`);
  }
});

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

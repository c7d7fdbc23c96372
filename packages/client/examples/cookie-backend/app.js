// Signs in with a cookie session (POST /login sets it), then connects with no token at all: the browser
// sends the cookie with the upgrade, and the broker asks server.ts's /switchboard/connect who it is.
import { createClient } from '/switchboard.js';

const params = new URLSearchParams(location.search);
const broker = params.get('broker') ?? 'ws://127.0.0.1:8080/';
const user = params.get('user') ?? 'ann';
const $ = (id) => document.getElementById(id);

const login = await fetch(`/login?user=${encodeURIComponent(user)}`, { method: 'POST' });
if (!login.ok) throw new Error(`sign-in failed: ${login.status}`);
const client = createClient({ url: broker });
client.on('state', ({ state }) => {
  $('state').textContent = state;
});
client.on('error', (error) => console.warn(`${error.code}: ${error.message}`));
await client.whenConnected();
$('user').textContent = client.user ?? '(anonymous)';
const profile = await client.rpc('profile.get', null);
$('profile').textContent = `${profile.user} since ${new Date(profile.since).toISOString()}`;
client.subscribe('chat.lobby', ({ data }) => {
  $('messages').textContent += `${data.from}: ${data.text}\n`;
});
await client.publish('chat.lobby', { from: client.user, text: 'hello from a cookie session' });

import { decodeJwt } from 'jose';
import t from 'tap';
import { runSwitchboard } from '../helpers/switchboard-process.js';
import { runCommand as run, startBroker, stopAtEnd, until } from '../helpers/terminal-commands.js';

/**
 * `switchboard sub` and `pub` (with a token from `switchboard token`) as a user runs them: separate processes
 * against a broker process that requires tokens, each checked by what it prints and its exit code.
 */

const secret = 'terminal-client-secret-at-least-32-bytes';
// A dozen processes, each starting through tsx, on a machine that may be busy running other tests.
t.setTimeout(300_000);

t.test('token, sub and pub against a broker that requires tokens', async (t) => {
  const url = await startBroker(t, { JWT_SECRET: secret });

  const minted = await run(['token', '--sub', 'ana', '--grant', 'chat.>', '--grant', 'publish:alerts.x', '--ttl', '10m'], { JWT_SECRET: secret });
  t.equal(minted.code, 0, minted.stderr);
  const token = minted.stdout.trim();
  const claims = decodeJwt(token);
  t.match(claims, { sub: 'ana', publish: ['chat.>', 'alerts.x'], subscribe: ['chat.>'] }, 'the token carries the grants');
  t.equal(claims.exp! - claims.iat!, 600, '--ttl 10m');

  const sub = runSwitchboard(['sub', 'chat.>', '--url', url, '--token', token, '--count', '3'], { LOG_LEVEL: 'warn' });
  stopAtEnd(t, sub);
  await until('sub to be subscribed', () => (/subscribed to chat\.>/.test(sub.stderr()) ? true : undefined));

  const one = await run(['pub', 'chat.lobby', '{"text":"hi"}', '--priority', 'high', '--url', url, '--token', token]);
  t.equal(one.code, 0, one.stderr);
  const [, epoch] = /^chat\.lobby 1 (\S+)\n$/.exec(one.stdout) ?? [];
  t.ok(epoch, `pub prints the ack: topic, offset, epoch (${one.stdout})`);

  const lines = await run(['pub', 'chat.room', '-', '--url', url], { SWITCHBOARD_TOKEN: token }, 'one\n\n{"n":2}\n');
  t.equal(lines.code, 0, lines.stderr);
  t.match(lines.stdout, /^chat\.room 1 \S+\nchat\.room 2 \S+\n$/, 'pub - publishes each non-empty line and reports each ack in order');

  t.equal(await sub.closed, 0, `sub --count 3 exits after three messages: ${sub.stderr()}`);
  t.equal(sub.stdout(), 'chat.lobby 1 {"text":"hi"}\nchat.room 1 one\nchat.room 2 {"n":2}\n', 'one line per message: topic, offset, payload');
  const resume = /--since 'chat\.room=2@(\S+)'/.exec(sub.stderr());
  t.ok(resume, `sub says how to resume: ${sub.stderr()}`);

  // Recovery: from offset 1 of chat.room, the broker replays offset 2; JSON lines carry every field.
  const replay = await run(['sub', 'chat.>', '--json', '--since', `chat.room=1@${resume![1]}`, '--count', '1', '--url', url, '--token', token]);
  t.equal(replay.code, 0, replay.stderr);
  t.same(JSON.parse(replay.stdout), { topic: 'chat.room', offset: 2, epoch: resume![1], priority: 'normal', data: { n: 2 } });
  t.match(replay.stderr, /chat\.room recovered up to 2/);

  const forbidden = await run(['pub', 'other.topic', 'x', '--url', url, '--token', token]);
  t.equal(forbidden.code, 1, 'a refused publish exits 1');
  t.match(forbidden.stderr, /forbidden/);
  t.equal(forbidden.stdout, '');

  const anonymous = await run(['pub', 'chat.lobby', 'x', '--url', url]);
  t.equal(anonymous.code, 1, 'no token: refused, exit 1');
  t.match(anonymous.stderr, /invalid_token|unauthorized|token/);

  const acks = await run(['pub', 'alerts.x', '-', '--url', url, '--token', token, '--json'], {}, 'a\nb\n');
  t.equal(acks.code, 0, acks.stderr);
  t.same(acks.stdout.trim().split('\n').map((line) => JSON.parse(line) as unknown), [
    { topic: 'alerts.x', offset: 1, epoch: acks.stdout.match(/"epoch":"([^"]+)"/)![1], duplicate: false },
    { topic: 'alerts.x', offset: 2, epoch: acks.stdout.match(/"epoch":"([^"]+)"/)![1], duplicate: false },
  ], 'pub --json: one ack object per line');
});

t.test('token --info and --subs: the broker takes the presence info and the server-side subscription', async (t) => {
  const adminToken = 'terminal-client-admin-token-of-32-bytes';
  const url = await startBroker(t, { JWT_SECRET: secret, ADMIN_TOKEN: adminToken });
  const args = ['token', '--sub', 'ana', '--grant', 'publish:news.>', '--info', '{"name":"Ana","desk":7}', '--subs', 'news.>', '--subs', 'alerts.ops'];
  const minted = await run(args, { JWT_SECRET: secret });
  t.equal(minted.code, 0, minted.stderr);
  const token = minted.stdout.trim();
  t.match(decodeJwt(token), { sub: 'ana', info: { name: 'Ana', desk: 7 }, subs: ['news.>', 'alerts.ops'], subscribe: [] });

  // No subscribe grant: the subscription is the token's server-side one, which `sub` claims.
  const sub = runSwitchboard(['sub', 'news.>', '--url', url, '--token', token, '--count', '1'], { LOG_LEVEL: 'warn' });
  stopAtEnd(t, sub);
  await until('sub to be subscribed', () => (/subscribed to news\.>/.test(sub.stderr()) ? true : undefined));
  const listed = await fetch(`${url.replace('ws:', 'http:')}admin/users/ana/connections`, { headers: { authorization: `Bearer ${adminToken}` } });
  const { connections } = (await listed.json()) as { connections: { info: unknown; subscriptions: string[] }[] };
  t.match(connections, [{ info: { name: 'Ana', desk: 7 }, subscriptions: ['news.>'] }], 'the connection carries the info');
  const published = await run(['pub', 'news.today', 'hello', '--url', url, '--token', token]);
  t.equal(published.code, 0, published.stderr);
  t.equal(await sub.closed, 0, sub.stderr());
  t.equal(sub.stdout(), 'news.today 1 hello\n');
});

t.test('sub ends on SIGINT with exit code 0', async (t) => {
  const url = await startBroker(t, {});
  const sub = runSwitchboard(['sub', 'news.*', '--url', url], { LOG_LEVEL: 'warn' });
  stopAtEnd(t, sub);
  await until('sub to be subscribed', () => (/subscribed to news\.\*/.test(sub.stderr()) ? true : undefined));
  const published = await run(['pub', 'news.today', 'plain words', '--url', url]);
  t.equal(published.code, 0, published.stderr);
  await until('the message', () => (sub.stdout().includes('\n') ? true : undefined));
  t.equal(sub.stdout(), 'news.today 1 plain words\n', 'text that is not JSON is published as a string and printed as it is');
  sub.process.kill('SIGINT');
  t.equal(await sub.closed, 0);
  t.match(sub.stderr(), /resume with: switchboard sub 'news\.\*' --since 'news\.today=1@/);
});

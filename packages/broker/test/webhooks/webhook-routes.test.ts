import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigError } from '../../src/config/config-error.js';
import { createConfig } from '../../src/config/config.js';
import { loadConfig } from '../../src/config/load-config.js';
import { WebhookRoutes } from '../../src/webhooks/webhook-routes.js';

/** Which endpoint each event goes to, per namespace, and the configuration rules of docs/operations.md "Webhooks". */

const secret = 'whsec-a-test-secret-of-at-least-32-bytes';

t.test('docs/operations.md: the example under "Webhooks" loads, and routes as the section says', async (t) => {
  const doc = readFileSync(new URL('../../../../docs/operations.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('\n## Webhooks\n'));
  const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  t.ok(example, 'the section has a YAML example');
  const dir = t.testdir({ 'switchboard.yaml': example ?? '' });
  const config = loadConfig({ env: { WEBHOOK_SECRET: secret }, argv: ['--config', join(dir, 'switchboard.yaml')] });
  const routes = new WebhookRoutes(config);
  const main = 'https://app.internal/switchboard/events';
  const audit = 'https://audit.internal/switchboard';
  t.equal(routes.urlFor('connection.closed'), main, 'connection events: the top level');
  t.equal(routes.urlFor('publication'), undefined, 'no publications by default');
  t.equal(routes.urlFor('topic.vacated', 'news.today'), main, 'outside every namespace: the top level');
  t.equal(routes.urlFor('publication', 'news.today'), undefined);
  t.equal(routes.urlFor('publication', 'chat.room1'), main, 'chat. asks for publications, at the top-level URL');
  t.equal(routes.urlFor('presence.member_added', 'chat.eu.room1'), main, 'a deeper topic is in chat. too');
  t.equal(routes.urlFor('publication', 'audit.login'), audit, 'audit. sends its publications to its own URL');
  t.equal(routes.urlFor('topic.occupied', 'audit.login'), undefined, '...and only those');
  t.same(routes.urls, new Set([main, audit]));
});

t.test('a nested namespace inherits what it leaves unset', async (t) => {
  const routes = new WebhookRoutes(
    createConfig({
      webhookSecret: secret,
      namespaces: { 'a.': { webhooks: { url: 'http://127.0.0.1:1/a', events: ['publication'] } }, 'a.b.': { webhooks: { events: ['topic.occupied'] } } },
    }),
  );
  t.equal(routes.urlFor('topic.occupied', 'a.b.c'), 'http://127.0.0.1:1/a', 'the URL from a.');
  t.equal(routes.urlFor('publication', 'a.b.c'), undefined, 'its own events');
  t.equal(routes.urlFor('publication', 'a.x'), 'http://127.0.0.1:1/a');
  t.equal(routes.urlFor('connection.opened'), undefined, 'no WEBHOOK_URL: no connection events');
});

t.test('a webhook URL needs WEBHOOK_SECRET; URLs are http(s) without credentials; events are known ones', async (t) => {
  t.throws(() => createConfig({ webhookUrl: 'https://app.example/hooks' }), ConfigError);
  t.throws(() => createConfig({ namespaces: { 'chat.': { webhooks: { url: 'https://app.example/hooks' } } } }), /WEBHOOK_SECRET/);
  t.throws(() => createConfig({ webhookSecret: secret, webhookUrl: 'ftp://app.example/hooks' }), /http:\/\/ or https:\/\//);
  t.throws(() => createConfig({ webhookSecret: secret, webhookUrl: 'https://user:pw@app.example/hooks' }), /user name or password/);
  t.throws(() => createConfig({ webhookSecret: secret, webhookEvents: ['connection.opened', 'user.joined' as 'connection.opened'] }), /must list events/);
  t.throws(() => createConfig({ webhookSecret: 'short' }), /at least 32 bytes/);
  t.throws(() => createConfig({ webhookRetryMinMs: 1000, webhookRetryMaxMs: 10 }), /WEBHOOK_RETRY_MAX/);
  t.ok(createConfig({ webhookSecret: secret, webhookUrl: 'http://127.0.0.1:9/hooks' }), 'plain http is allowed: backends are often inside the cluster');
});

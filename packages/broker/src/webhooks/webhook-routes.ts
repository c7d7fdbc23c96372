import { TopicSyntax } from '@switchboard/protocol';
import type { Config } from '../config/config.js';
import type { WebhookEventType } from '../config/options-webhooks.js';

/** Where one namespace's events go: the endpoint URL and the events it wants. */
export interface WebhookRoute {
  readonly url: string | undefined;
  readonly events: ReadonlySet<WebhookEventType>;
}

export type WebhookRoutesConfig = Pick<Config, 'namespaces' | 'webhookUrl' | 'webhookEvents'>;

/**
 * Which endpoint an event goes to (docs/operations.md "Webhooks"). A topic's events follow its namespace's
 * `webhooks` (the longest prefix; each unset field from the enclosing namespace, then WEBHOOK_URL and
 * WEBHOOK_EVENTS), as every other per-namespace setting does (config/namespace-resolver.ts); connection
 * events belong to no topic and follow the top level. Resolved once, at construction.
 */
export class WebhookRoutes {
  readonly topLevel: WebhookRoute;
  private readonly byPrefix = new Map<string, WebhookRoute>();

  constructor(config: WebhookRoutesConfig) {
    this.topLevel = { url: config.webhookUrl, events: new Set(config.webhookEvents) };
    // Shortest first, so that each namespace's enclosing ones are resolved before it.
    for (const prefix of Object.keys(config.namespaces).sort((a, b) => a.length - b.length)) {
      const own = config.namespaces[prefix]?.webhooks;
      const enclosing = this.routeFor(prefix);
      this.byPrefix.set(prefix, {
        url: own?.url ?? enclosing.url,
        events: own?.events === undefined ? enclosing.events : new Set(own.events),
      });
    }
  }

  /** Every URL some event may go to. */
  get urls(): Set<string> {
    const urls = new Set<string>();
    for (const route of [this.topLevel, ...this.byPrefix.values()]) if (route.url !== undefined && route.events.size > 0) urls.add(route.url);
    return urls;
  }

  /** The URL for `type` on `topic` (undefined: the top level), or undefined when nobody wants it. */
  urlFor(type: WebhookEventType, topic?: string): string | undefined {
    const route = topic === undefined ? this.topLevel : this.routeFor(topic);
    return route.events.has(type) ? route.url : undefined;
  }

  /** Whether any route wants `type` (so the caller can skip building events nobody receives). */
  wants(type: WebhookEventType): boolean {
    for (const route of [this.topLevel, ...this.byPrefix.values()]) if (route.url !== undefined && route.events.has(type)) return true;
    return false;
  }

  /** The route of the longest namespace `name` (a topic, or a prefix with its separator) is inside. */
  private routeFor(name: string): WebhookRoute {
    if (this.byPrefix.size === 0) return this.topLevel;
    for (let end = name.lastIndexOf(TopicSyntax.separator, name.length - 2); end > 0; end = name.lastIndexOf(TopicSyntax.separator, end - 1)) {
      const route = this.byPrefix.get(name.slice(0, end + 1));
      if (route !== undefined) return route;
    }
    return this.topLevel;
  }
}

import { TopicSyntax } from '@switchboard/protocol';
import type { Config } from '../config/config.js';

interface Route {
  readonly subscribe: string | undefined;
  readonly publish: string | undefined;
}

export type ProxyRoutesConfig = Pick<Config, 'namespaces' | 'proxySubscribeUrl' | 'proxyPublishUrl'>;

/**
 * Which backend endpoint decides a subscribe or a publish (docs/operations.md "Backend proxy"): the topic's
 * (or the pattern's) namespace `proxy` setting, the longest prefix winning, each unset field from the
 * enclosing namespace, then PROXY_SUBSCRIBE_URL / PROXY_PUBLISH_URL; `false` turns the proxy off there (the
 * token's grants decide). Resolved once, at construction, as webhooks/webhook-routes.ts does.
 */
export class ProxyRoutes {
  private readonly topLevel: Route;
  private readonly byPrefix = new Map<string, Route>();

  constructor(config: ProxyRoutesConfig) {
    this.topLevel = { subscribe: config.proxySubscribeUrl, publish: config.proxyPublishUrl };
    for (const prefix of Object.keys(config.namespaces).sort((a, b) => a.length - b.length)) {
      const own = config.namespaces[prefix]?.proxy;
      const enclosing = this.routeFor(prefix);
      const pick = (value: string | false | undefined, inherited: string | undefined) => (value === false ? undefined : (value ?? inherited));
      this.byPrefix.set(prefix, { subscribe: pick(own?.subscribe, enclosing.subscribe), publish: pick(own?.publish, enclosing.publish) });
    }
  }

  /** Whether any subscribe or publish goes to the backend. */
  get any(): boolean {
    return [this.topLevel, ...this.byPrefix.values()].some((route) => route.subscribe !== undefined || route.publish !== undefined);
  }

  /** The endpoint deciding a subscribe to `pattern` (its literal prefix's namespace), if any. */
  subscribeUrl(pattern: string): string | undefined {
    return this.routeFor(pattern).subscribe;
  }

  /** The endpoint deciding a publish on `topic`, if any. */
  publishUrl(topic: string): string | undefined {
    return this.routeFor(topic).publish;
  }

  private routeFor(name: string): Route {
    if (this.byPrefix.size === 0) return this.topLevel;
    for (let end = name.lastIndexOf(TopicSyntax.separator, name.length - 2); end > 0; end = name.lastIndexOf(TopicSyntax.separator, end - 1)) {
      const route = this.byPrefix.get(name.slice(0, end + 1));
      if (route !== undefined) return route;
    }
    return this.topLevel;
  }
}

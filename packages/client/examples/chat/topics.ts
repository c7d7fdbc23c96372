/**
 * The example's topics and presence info, declared once and shared by the page (as documentation: the page
 * is plain JavaScript) and the Node publisher (type-checked): `createClient<Topics, Info>()`.
 */
export interface Topics {
  /** Chat rooms: chat.lobby, chat.random ... (presence topics: the broker runs with PRESENCE=chat.>). */
  'chat.*': { user: string; text: string; at: number };
  /**
   * "ann is typing" for room chat.<room>: a low-priority, fire-and-forget hint, shown for a few seconds after
   * it arrives. Outside `chat.>` so a viewer is not a second presence member and the chat stays free of it.
   */
  'typing.*': { user: string };
  /** Live figures for the dashboard: metrics.cpu, metrics.memory, metrics.rps. */
  'metrics.*': { value: number; unit: string };
  /** Urgent notices, published at high priority so they overtake everything else. */
  'alerts.*': { level: 'info' | 'warning' | 'critical'; text: string };
  /** Shared files as raw bytes (chunked by the SDK when large): files.<name>. */
  'files.*': Uint8Array;
}

/** A member's presence info: the token's `info` claim (dev-token.ts), listed with every member and join. */
export interface Info {
  name: string;
}

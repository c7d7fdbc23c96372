/**
 * The example's topics, declared once and shared by the page (as documentation: the page is plain
 * JavaScript) and the Node publisher (type-checked).
 */
export interface Topics {
  /** Chat rooms: chat.lobby, chat.random ... */
  'chat.*': { user: string; text: string; at: number };
  /** Live figures for the dashboard: metrics.cpu, metrics.memory, metrics.rps. */
  'metrics.*': { value: number; unit: string };
  /** Urgent notices, published at high priority so they overtake everything else. */
  'alerts.*': { level: 'info' | 'warning' | 'critical'; text: string };
  /** Shared files as raw bytes (chunked by the SDK when large): files.<name>. */
  'files.*': Uint8Array;
}

import type { Socket } from 'node:net';

/**
 * Node keeps the cleared idle timer on the socket (under a private symbol, with its bound callback) until
 * the socket is collected: about 200 bytes of every idle connection (docs/benchmarks.md). Put back as a new
 * socket has it (null), which every reader of the slot handles, since an unused slot is null there too.
 */
export function dropClearedTimer(socket: Socket): void {
  timeoutSlot ??= Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'timeout') ?? null;
  if (timeoutSlot !== null) (socket as unknown as Record<symbol, unknown>)[timeoutSlot] = null;
}

/** Node's `kTimeout` symbol, found on the first socket; null when this Node has none. */
let timeoutSlot: symbol | null | undefined;

import type { Socket } from 'node:net';

/**
 * Recent peer addresses, so connections from the same one share a string: behind a proxy or a load
 * balancer every connection comes from a few addresses, and a copy each (~32 bytes) was a part of every idle
 * connection. Cleared when full, so peers from ever new addresses cannot grow it.
 */
const recentAddresses = new Map<string, string>();
const MAX_RECENT_ADDRESSES = 256;

/**
 * The socket's remote address, read once for the connection's life. Reading `remoteAddress` leaves Node's
 * cached `{ address, family, port }` on the socket (56 bytes of every idle connection); the session keeps
 * the address itself, so the cache is emptied, as a new socket has it. Node asks the kernel again if
 * anything reads `remoteAddress` later.
 */
export function takePeerAddress(socket: Socket): string | undefined {
  const address = socket.remoteAddress;
  (socket as unknown as { _peername: unknown })._peername = undefined;
  if (address === undefined) return undefined;
  const shared = recentAddresses.get(address);
  if (shared !== undefined) return shared;
  if (recentAddresses.size >= MAX_RECENT_ADDRESSES) recentAddresses.clear();
  recentAddresses.set(address, address);
  return address;
}

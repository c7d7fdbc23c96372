import type { Socket } from 'node:net';

/**
 * The socket's remote address, read once for the connection's life. Reading `remoteAddress` leaves Node's
 * cached `{ address, family, port }` on the socket (56 bytes of every idle connection); the session keeps
 * the address itself, so the cache is emptied, as a new socket has it. Node asks the kernel again if
 * anything reads `remoteAddress` later.
 */
export function takePeerAddress(socket: Socket): string | undefined {
  const address = socket.remoteAddress;
  (socket as unknown as { _peername: unknown })._peername = undefined;
  return address;
}

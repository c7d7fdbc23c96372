import { randomFillSync } from 'node:crypto';

/**
 * `c_` and 16 random base64url characters (12 bytes), as one flat string: a concatenation would keep two (32
 * bytes more). The random bytes come from a pool refilled every 256 ids: a call into the CSPRNG per id was
 * most of an accept's own CPU time after its writes.
 */
export function newConnectionId(): string {
  if (idPoolOffset === idPool.length) {
    randomFillSync(idPool);
    idPoolOffset = 0;
  }
  const id = Buffer.allocUnsafe(18);
  id.write('c_', 0, 'latin1');
  id.write(idPool.toString('base64url', idPoolOffset, idPoolOffset + 12), 2, 'latin1');
  idPoolOffset += 12;
  return id.toString('latin1');
}

const idPool = Buffer.alloc(12 * 256);
let idPoolOffset = idPool.length;

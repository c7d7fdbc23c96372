// Autobahn category 4 (reserved opcodes): RFC 6455 §5.2, every reserved opcode, in both roles.
import t from 'tap';
import { Opcode } from '../../src/index.js';
import { runTable, type ConformanceCase } from './harness.js';

const RESERVED =
  'RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_" (1002); messages before it are delivered and answered before the close frame, even when read together with it (Autobahn: "strict")';

/** Autobahn's shapes: 1 alone; 2 with a payload; 3 after a message, then a ping; 4 the same with a payload; 5 that, one byte at a time. */
function casesFor(group: string, opcodes: readonly number[]): ConformanceCase[] {
  return opcodes.map((opcode, i): ConformanceCase => {
    const shape = i + 1;
    const after = shape >= 3;
    const payload = shape % 2 === 0 || shape === 5 ? 'reserved opcode payload' : '';
    return {
      id: `${group}.${shape}`,
      title: `${after ? 'text, then ' : ''}reserved opcode 0x${opcode.toString(16)}${payload === '' ? '' : ' with a payload'}${after ? ', then ping' : ''}${shape === 5 ? ', one byte at a time' : ''}`,
      rfc: RESERVED,
      steps: after
        ? [{ opcode: Opcode.text, payload: 'Hello' }, { opcode, payload }, { opcode: Opcode.ping }]
        : [{ opcode, payload }],
      ...(shape === 5 ? { chunkSize: 1 } : {}),
      ...(after ? { everySplit: true } : {}),
      expect: { frames: after ? [{ opcode: Opcode.text, payload: 'Hello' }] : [], close: 1002 },
    };
  });
}

const table: ConformanceCase[] = [...casesFor('4.1', [0x3, 0x4, 0x5, 0x6, 0x7]), ...casesFor('4.2', [0xb, 0xc, 0xd, 0xe, 0xf])];

await runTable(t, table);

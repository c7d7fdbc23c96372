import type { Test } from 'tap';
import type { ConnectionReport, Engine, NodeCommand } from '../../src/engine/engine.js';
import { BrokerErrorCode } from '../../src/errors.js';
import type { EngineFactory } from './engine-contract.js';

/**
 * Admin commands across nodes (`Engine.command`, design §3.5), the same on every engine: a command reaches
 * every started node's `onCommand`, the asking node included, and the result gathers their answers and says
 * how many nodes were expected and answered.
 */
export function runCommandContract(t: Test, name: string, makeEngine: EngineFactory): void {
  async function node(t: Test, id: string, received: NodeCommand[]): Promise<Engine> {
    const engine = await makeEngine();
    t.teardown(() => engine.close());
    await engine.start({
      onPublication: () => undefined,
      onCommand: (command): readonly ConnectionReport[] => {
        received.push(command);
        return [{ connectionId: `c_${id}`, node: id }];
      },
    });
    return engine;
  }

  t.test(`${name}: engine contract: commands`, async (t) => {
    t.test('a command reaches every node, the asking one included; the result has every answer and is complete', async (t) => {
      const receivedA: NodeCommand[] = [];
      const receivedB: NodeCommand[] = [];
      const a = await node(t, 'a', receivedA);
      await node(t, 'b', receivedB);
      const command: NodeCommand = { op: 'disconnect', user: 'alice', reconnect: true, except: ['c_1'] };
      const result = await a.command(command, 5000);
      t.same(receivedA, [command], 'the asking node ran it once');
      t.same(receivedB, [command], 'the other node ran it once, unchanged');
      t.same(result.connections.map((connection) => connection.node).sort(), ['a', 'b']);
      t.equal(result.complete, true);
      t.equal(result.nodes.answered, result.nodes.expected);
      t.ok(result.nodes.expected >= 2);
    });

    t.test('after close, command rejects with ERR_BROKER_ENGINE_CLOSED', async (t) => {
      const engine = await node(t, 'c', []);
      await engine.close();
      await t.rejects(engine.command({ op: 'connections', user: 'x' }, 1000), { code: BrokerErrorCode.engineClosed });
    });
  });
}

// Fan-out on one node: our broker against a minimal broker written on `ws`, each in its own process,
// driven by the same load (`fanout-load.ts`).
import { answers200, acceptsWebSocket, brokerArgs, cpuSeconds, freePort, startNode } from './processes.js';
import { BURST, PACED_RATE, SUBSCRIBERS, bestOf, latencyText, runFanout } from './fanout-load.js';
import { comparisonLine, type BenchResult } from './harness.js';
import { switchboardTarget, wsBrokerTarget } from './targets.js';

export async function benchFanout(): Promise<BenchResult> {
  const oursPort = await freePort();
  const theirsPort = await freePort();
  const ours = await startNode(brokerArgs(oursPort), answers200(`http://127.0.0.1:${oursPort}/readyz`));
  const theirs = await startNode(['--import=tsx', 'bench/servers/ws-broker.ts', String(theirsPort)], acceptsWebSocket(`ws://127.0.0.1:${theirsPort}/`));
  try {
    const oursTarget = switchboardTarget('switchboard', [oursPort]);
    const theirsTarget = wsBrokerTarget('ws broker', [theirsPort]);
    const oursCpu = (): number => cpuSeconds(ours.pid!);
    const theirsCpu = (): number => cpuSeconds(theirs.pid!);
    const oursResult = bestOf(await runFanout(oursTarget, oursCpu), await runFanout(oursTarget, oursCpu));
    const theirsResult = bestOf(await runFanout(theirsTarget, theirsCpu), await runFanout(theirsTarget, theirsCpu));
    const oursCpuMs = oursResult.serverCpuMsPer1000!;
    const theirsCpuMs = theirsResult.serverCpuMsPer1000!;
    const rate = { ours: { opsPerSecond: oursResult.deliveredPerSecond }, baseline: { opsPerSecond: theirsResult.deliveredPerSecond } };
    return {
      name: `fan-out on one node: 1 publisher, ${SUBSCRIBERS} subscribers, 100-byte messages (best of 2 runs each)`,
      lines: [
        comparisonLine(`burst of ${BURST}, delivered messages`, { ...rate, ratio: oursResult.deliveredPerSecond / theirsResult.deliveredPerSecond }, 'msg', 'ws broker'),
        `server CPU per 1,000 deliveries      ours ${oursCpuMs.toFixed(1)} ms   ws broker ${theirsCpuMs.toFixed(1)} ms   ratio ${(oursCpuMs / theirsCpuMs).toFixed(2)}x`,
        `latency at ${PACED_RATE} publishes/s (${PACED_RATE * SUBSCRIBERS} deliveries/s)  ours ${latencyText(oursResult)}   ws broker ${latencyText(theirsResult)}`,
      ],
    };
  } finally {
    ours.kill(process.env.FANOUT_PROFILE ? 'SIGINT' : 'SIGKILL');
    theirs.kill('SIGKILL');
  }
}

import { startEmailBisonSim } from '../sim/server';

/*
 * The simulated EmailBison API in a process of its own, so its data and its CPU are not
 * counted as the sync's: started by sim-child.ts, driven over the IPC channel.
 * argv: <scenario> <latencyMs>
 */
export type SimRequest = { id: number; op: 'counters' | 'resetCounters' | 'close' } | { id: number; op: 'setLatency'; latencyMs: number };

const [scenario, latency] = process.argv.slice(2);
const sim = await startEmailBisonSim({ scenario, latencyMs: Number(latency ?? 0) });
const send = (message: unknown) => process.send?.(message);

process.on('message', async (message: SimRequest) => {
  switch (message.op) {
    case 'counters':
      return send({ id: message.id, result: sim.counters() });
    case 'resetCounters':
      sim.resetCounters();
      return send({ id: message.id, result: null });
    case 'setLatency':
      sim.setLatency(message.latencyMs);
      return send({ id: message.id, result: null });
    case 'close':
      await sim.close();
      send({ id: message.id, result: null });
      process.disconnect();
  }
});
process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
send({ ready: { url: sim.url, workspaces: sim.workspaces(), rssBytes: process.memoryUsage().rss } });

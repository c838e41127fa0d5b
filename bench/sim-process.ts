import { startEmailBisonSim, type PaginationMode, type SimRateLimit, type SimUnreachable } from '../sim/server';

/*
 * The simulated EmailBison API in a process of its own, so its data and its CPU are not
 * counted as the sync's: started by sim-child.ts, driven over the IPC channel.
 * argv: <scenario> <latencyMs> [<instance options as JSON>]
 */
export type SimRequest =
  | { id: number; op: 'counters' | 'resetCounters' | 'requestLog' | 'close' }
  | { id: number; op: 'setLatency'; latencyMs: number }
  | { id: number; op: 'setUnreachable'; mode: SimUnreachable | false };

/** How the bench's instance behaves beyond its data and latency (issue 12's EmailBison). */
export interface SimInstanceOptions {
  pagination?: PaginationMode;
  rateLimit?: SimRateLimit;
  pageCap?: number;
}

const [scenario, latency, instance] = process.argv.slice(2);
const sim = await startEmailBisonSim({
  scenario,
  latencyMs: Number(latency ?? 0),
  ...(JSON.parse(instance ?? '{}') as SimInstanceOptions),
});
const send = (message: unknown) => process.send?.(message);

process.on('message', async (message: SimRequest) => {
  switch (message.op) {
    case 'counters':
      return send({ id: message.id, result: sim.counters() });
    case 'resetCounters':
      sim.resetCounters();
      return send({ id: message.id, result: null });
    case 'requestLog':
      return send({ id: message.id, result: sim.requestLog() });
    case 'setLatency':
      sim.setLatency(message.latencyMs);
      return send({ id: message.id, result: null });
    case 'setUnreachable':
      await sim.setUnreachable(message.mode);
      return send({ id: message.id, result: null });
    case 'close':
      await sim.close();
      send({ id: message.id, result: null });
      process.disconnect();
  }
});
process.on('disconnect', () => void sim.close().then(() => process.exit(0)));
send({ ready: { url: sim.url, workspaces: sim.workspaces(), rssBytes: process.memoryUsage().rss } });

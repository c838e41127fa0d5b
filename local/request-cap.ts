import { SETTINGS } from '../lambdas/config/settings';
import type { SimRateLimit } from '../sim/server';

/**
 * The request cap of a local run (`EMAILBISON_MAX_RPS`, requests per second per instance)
 * and the line that says it. The cap exists for real instances, which the agency's other
 * tools share; the built-in simulator serves this run alone, so against it the cap is
 * lifted and the run goes as fast as the simulator answers, unless:
 * - EMAILBISON_MAX_RPS is set: the operator asked for that cap, everywhere;
 * - the simulator plays a rate-limited instance (`--sim-rate N`): then the cap is that
 *   instance's limit (N per window), the polite rate that is also the fastest one.
 */
export function localRequestCap(input: {
  env: Record<string, string | undefined>;
  /** The value loadConfig read (the setting, else its default). */
  configuredMaxRps: number;
  /** Undefined: real workspaces, no simulator. */
  simulator?: { rateLimit?: SimRateLimit };
}): { maxRps: number; note: string } {
  const { env, configuredMaxRps, simulator } = input;
  const setting = SETTINGS.emailbisonMaxRps;
  const explicit = (env[setting.env] ?? '').trim() !== '';
  const describe = (rps: number) => (rps === 0 ? 'off' : `${round(rps)} requests/s per instance`);
  if (explicit || !simulator) {
    return {
      maxRps: configuredMaxRps,
      note: `request cap: ${describe(configuredMaxRps)} (${setting.env}${explicit ? '' : ', the default'})`,
    };
  }
  if (simulator.rateLimit) {
    const { requests, windowSeconds } = simulator.rateLimit;
    const maxRps = Math.min(requests / windowSeconds, 1_000);
    return {
      maxRps,
      note: `request cap: ${describe(maxRps)}, the simulated instance's limit (${requests} per ${windowSeconds} s); set ${setting.env} to choose another`,
    };
  }
  return {
    maxRps: 0,
    note: `request cap: off (the built-in simulator is not a shared instance; ${setting.env}=${setting.default} on a real instance)`,
  };
}

function round(value: number): string {
  return String(Math.round(value * 100) / 100);
}

import { InvalidInputError } from '../errors';
import { isWarmupDay } from '../warmup/day';

/**
 * What `start-execution` accepts: `{}` (every active workspace) or `{"workspaces": ["Acme Outbound", ...]}`,
 * and `"mode": "warmup"` (with an optional `"day": "YYYY-MM-DD"`, default the UTC day the run starts)
 * for the daily warmup pass.
 */
export interface ExecutionInput {
  workspaces?: string[];
  triggerSource?: string;
  mode?: RunMode;
  day?: string;
}

/** `sync`: the account sync (the default); `warmup`: the daily warmup pass (issue 24). */
export type RunMode = 'sync' | 'warmup';

const USAGE =
  'Execution input must be {} (every active workspace) or {"workspaces": ["Workspace name", ...]}, ' +
  'with "mode": "warmup" (and optionally "day": "YYYY-MM-DD") for the warmup pass';
const KNOWN_KEYS = new Set(['workspaces', 'triggerSource', 'mode', 'day']);

export function parseExecutionInput(input: unknown): ExecutionInput {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw new InvalidInputError(`${USAGE}; got ${describe(input)}.`);
  const record = input as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length > 0)
    throw new InvalidInputError(`${USAGE}; unknown field ${unknown.map((k) => JSON.stringify(k.slice(0, 50))).join(', ')}.`);
  const result: ExecutionInput = {};
  if (record.workspaces !== undefined) {
    const names = record.workspaces;
    if (!Array.isArray(names) || names.some((name) => typeof name !== 'string' || name.trim() === '')) {
      throw new InvalidInputError(`${USAGE}; "workspaces" must be a list of workspace names, got ${describe(names)}.`);
    }
    if (names.length === 0) throw new InvalidInputError(`${USAGE}; "workspaces" is empty: omit it to sync every active workspace.`);
    result.workspaces = [...new Set(names as string[])];
  }
  if (record.triggerSource !== undefined) {
    if (typeof record.triggerSource !== 'string') throw new InvalidInputError(`${USAGE}; "triggerSource" must be a string.`);
    result.triggerSource = record.triggerSource.slice(0, 50);
  }
  if (record.mode !== undefined) {
    if (record.mode !== 'sync' && record.mode !== 'warmup') throw new InvalidInputError(`${USAGE}; "mode" must be "sync" or "warmup".`);
    result.mode = record.mode;
  }
  if (record.day !== undefined) {
    if (result.mode !== 'warmup') throw new InvalidInputError(`${USAGE}; "day" is for "mode": "warmup" only.`);
    if (!isWarmupDay(record.day)) throw new InvalidInputError(`${USAGE}; "day" must be a date as YYYY-MM-DD, got ${describe(record.day)}.`);
    result.day = record.day;
  }
  return result;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object of the wrong shape';
  return `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

import { InvalidInputError } from '../errors';

/** What `start-execution` accepts: `{}` (every active workspace) or `{"workspaces": ["Acme Outbound", ...]}`. */
export interface ExecutionInput {
  workspaces?: string[];
  triggerSource?: string;
}

const USAGE = 'Execution input must be {} (every active workspace) or {"workspaces": ["Workspace name", ...]}';
const KNOWN_KEYS = new Set(['workspaces', 'triggerSource']);

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
  return result;
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object of the wrong shape';
  return `${typeof value} ${JSON.stringify(value)?.slice(0, 40)}`;
}

import { UsageError } from '../lambdas/errors';

/*
 * The replaced system's registry names EmailBison instances by label ('Maverick', 'Long Run'),
 * their base URLs hard-coded in its functions. `workspaces import --from-client-registry
 * --instance 'Long Run=https://…'` gives each label its URL. Labels match as the dashboard
 * spells them (`bison_instance` 'longrun'): case and spaces aside, so 'Long Run', 'long run'
 * and 'LongRun' are one label.
 */

export interface InstanceMapping {
  /** As the operator typed it, trimmed. */
  label: string;
  /** The base URL: http(s), no trailing slash, no /api. */
  baseUrl: string;
}

/** `bison_instance` as the replaced system kept it: a URL, or a bare host (then https); no /api, no trailing slash. */
export function instanceUrl(value: string | null): string | undefined {
  const text = value?.trim() ?? '';
  if (!text) return undefined;
  const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  if (!isHttpUrl(url)) return undefined;
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '').replace(/\/api$/i, '')}`;
  } catch {
    return undefined;
  }
}

export function isHttpUrl(text: string): boolean {
  return /^https?:\/\/[^\s]+$/i.test(text.trim());
}

/** Labels by their key (instanceLabelKey). */
export type InstanceMappings = ReadonlyMap<string, InstanceMapping>;

/** The label as the dashboard's bison_instance spells it: lower case, no spaces ('longrun'). */
export function instanceLabelKey(label: string): string {
  return label.toLowerCase().replace(/\s+/g, '');
}

/**
 * One `--instance 'Label=https://…'` value, added to the ones before it. A bad one is a usage
 * error whose message says why (commander quotes the value before it).
 */
export function addInstanceMapping(text: string, previous: InstanceMappings = new Map()): Map<string, InstanceMapping> {
  const at = text.indexOf('=');
  if (at < 0) throw new UsageError("It is not LABEL=URL, e.g. 'Long Run=https://send.example.com'.");
  const label = text.slice(0, at).trim();
  const url = text.slice(at + 1).trim();
  if (!instanceLabelKey(label)) throw new UsageError("It has no label before '=', e.g. 'Long Run=https://send.example.com'.");
  const baseUrl = isHttpUrl(url) ? instanceUrl(url) : undefined;
  if (!baseUrl) throw new UsageError(`The URL after '=' must be http(s), e.g. 'Long Run=https://send.example.com'.`);
  const key = instanceLabelKey(label);
  const earlier = previous.get(key);
  if (earlier && earlier.baseUrl !== baseUrl) throw new UsageError(`Label "${label}" was given another URL already (${earlier.baseUrl}).`);
  return new Map([...previous, [key, { label, baseUrl }]]);
}

export type InstanceOf =
  | { ok: true; baseUrl: string; label: string | null }
  | { ok: false; problem: 'unmapped'; label: string }
  | { ok: false; problem: 'invalid' };

/**
 * Where a `bison_instance` value points: a mapped label (case and spaces aside), a URL, or a
 * bare host with a dot or a port (taken as https). Anything else is a label with no mapping:
 * 'Maverick' is never the host https://Maverick.
 */
export function resolveInstance(value: string | null, mappings: InstanceMappings): InstanceOf {
  const text = value?.trim() ?? '';
  if (!text) return { ok: false, problem: 'invalid' };
  const mapped = mappings.get(instanceLabelKey(text));
  if (mapped) return { ok: true, baseUrl: mapped.baseUrl, label: text };
  const looksLikeHost = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^[^\s/]+[.:][^\s]*$/.test(text);
  if (!looksLikeHost) return { ok: false, problem: 'unmapped', label: text };
  const baseUrl = instanceUrl(text);
  return baseUrl ? { ok: true, baseUrl, label: null } : { ok: false, problem: 'invalid' };
}

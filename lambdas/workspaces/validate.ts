/*
 * What a workspace row must be before anything about it is stored: the CLI checks every
 * row of an import with these before it touches a secret store, and the registry checks
 * again before it writes. Each returns the problem as a phrase (never the value: a value
 * may be a key pasted into the wrong column), or undefined.
 */

/** Long enough for any client's name, short enough for a table column and a log line. */
export const MAX_WORKSPACE_NAME_LENGTH = 200;

// C0/C1 controls (NUL, tab, newlines, ESC…) and the Unicode line and paragraph separators.
const CONTROL_CHARACTERS = /[\p{Cc}\u2028\u2029]/u;

export function workspaceNameProblem(name: string): string | undefined {
  const trimmed = name.trim();
  if (trimmed === '') return 'no name';
  if (CONTROL_CHARACTERS.test(trimmed)) return 'the name has control characters (a tab, a line break, a NUL…)';
  if ([...trimmed].length > MAX_WORKSPACE_NAME_LENGTH) return `the name is longer than ${MAX_WORKSPACE_NAME_LENGTH} characters`;
  return undefined;
}

export function baseUrlProblem(baseUrl: string): string | undefined {
  const text = baseUrl.trim();
  if (text === '') return 'no base_url';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'base_url is not a URL (it must start with http:// or https://)';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'base_url must start with http:// or https://';
  if (!url.hostname || /\s/.test(text)) return 'base_url has no host or has spaces';
  return undefined;
}

/** Keys are opaque tokens: anything with whitespace or a control character inside is a paste gone wrong. */
export function apiKeyProblem(apiKey: string): string | undefined {
  const text = apiKey.trim();
  if (text === '') return 'no api_key';
  if (/\s/.test(text) || CONTROL_CHARACTERS.test(text)) return 'the api_key has spaces or control characters';
  return undefined;
}

import { readFile } from 'node:fs/promises';
import { InvalidInputError } from '../lambdas/errors';

export interface ImportedWorkspace {
  name: string;
  baseUrl: string;
  apiKey: string;
  emailbisonWorkspaceId?: number;
}

/** Reads a CSV (header: name, base_url, api_key[, emailbison_workspace_id]) or a JSON list; reports every bad row at once. */
export async function readWorkspaceFile(file: string): Promise<ImportedWorkspace[]> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new InvalidInputError(`Cannot read ${file}.`);
  });
  const records = file.toLowerCase().endsWith('.json') ? parseJson(text, file) : parseCsv(text);
  const problems: string[] = [];
  const rows: ImportedWorkspace[] = [];
  const seen = new Set<string>();
  records.forEach((record, index) => {
    const at = `row ${index + 1}`;
    const name = String(record.name ?? '').trim();
    const baseUrl = String(record.base_url ?? record.baseUrl ?? '').trim();
    const apiKey = String(record.api_key ?? record.apiKey ?? '').trim();
    const idText = String(record.emailbison_workspace_id ?? record.emailbisonWorkspaceId ?? '').trim();
    if (!name) problems.push(`${at}: no name`);
    else if (seen.has(name)) problems.push(`${at}: "${name}" appears twice`);
    seen.add(name);
    if (!/^https?:\/\/\S+$/i.test(baseUrl))
      problems.push(`${at}${name ? ` ("${name}")` : ''}: base_url must start with http:// or https://`);
    if (!apiKey) problems.push(`${at}${name ? ` ("${name}")` : ''}: no api_key`);
    if (idText && !/^\d+$/.test(idText)) problems.push(`${at}: emailbison_workspace_id must be a number`);
    rows.push({ name, baseUrl, apiKey, emailbisonWorkspaceId: idText ? Number(idText) : undefined });
  });
  if (records.length === 0) problems.push('no rows');
  if (problems.length > 0) throw new InvalidInputError(`${file}: nothing imported: ${problems.join('; ')}.`);
  return rows;
}

function parseJson(text: string, file: string): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidInputError(`${file} is not valid JSON.`);
  }
  if (!Array.isArray(parsed)) throw new InvalidInputError(`${file} must hold a JSON list of {name, base_url, api_key}.`);
  return parsed as Record<string, unknown>[];
}

/** RFC 4180 CSV: quoted fields, doubled quotes, commas and newlines inside quotes. */
export function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      row.push(field);
      field = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += char;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  const nonEmpty = rows.filter((r) => r.some((cell) => cell.trim() !== ''));
  const [header, ...body] = nonEmpty;
  if (!header) return [];
  const keys = header.map((h) => h.trim().toLowerCase());
  return body.map((cells) => Object.fromEntries(keys.map((key, i) => [key, cells[i] ?? ''])));
}

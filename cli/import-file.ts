import { parse } from 'csv-parse/sync';
import { readFile } from 'node:fs/promises';
import { InvalidInputError, redactSecrets } from '../lambdas/errors';
import { apiKeyProblem, baseUrlProblem, workspaceNameProblem } from '../lambdas/workspaces/validate';

/*
 * `workspaces import` files: a CSV with a header line (name, base_url, api_key[,
 * emailbison_workspace_id]; other columns are ignored), as a spreadsheet writes it (a
 * BOM, CRLF, quoted fields), or a JSON list of objects with those fields. Every problem
 * is reported at once, by line (CSV) or row (JSON), column and field name; the only
 * content ever quoted is a valid workspace name, and never a key: a key pasted into the
 * wrong column, or a quote that swallowed the next row, must not reach a terminal.
 */
export interface ImportedWorkspace {
  name: string;
  baseUrl: string;
  apiKey: string;
  emailbisonWorkspaceId?: number;
  /** Where the row is in the file ("line 3", "row 2"), for messages. */
  at: string;
}

const REQUIRED_COLUMNS = ['name', 'base_url', 'api_key'] as const;
const COLUMNS = [...REQUIRED_COLUMNS, 'emailbison_workspace_id'] as const;
/** Past this many, the rest are counted, not listed. */
const MAX_PROBLEMS_LISTED = 20;

interface SourceRecord {
  at: string;
  /** Where a field is within the record: "column 2 (base_url)", "field base_url". */
  column(field: string): string;
  /** null when a JSON list's item is not an object. */
  fields: Record<string, unknown> | null;
}

export async function readWorkspaceFile(file: string): Promise<ImportedWorkspace[]> {
  const text = await readFile(file, 'utf8').catch(() => {
    throw new InvalidInputError(`Cannot read ${file}.`);
  });
  const records = file.toLowerCase().endsWith('.json') ? jsonRecords(text, file) : csvRecords(text, file);
  return validateRecords(records, file);
}

function refuse(file: string, problems: string[]): InvalidInputError {
  const listed = problems.slice(0, MAX_PROBLEMS_LISTED);
  const more = problems.length - listed.length;
  return new InvalidInputError(`${file}: nothing imported: ${listed.join('; ')}${more > 0 ? `; and ${more} more problems` : ''}.`);
}

/** The CSV's records; a file csv-parse refuses is refused by line, column and field name, without its content. */
function csvRecords(text: string, file: string): SourceRecord[] {
  let header: string[] = [];
  // Where the record being parsed starts: after the last one's end and any empty lines.
  let lastEnd = 1;
  let emptyLines = 0;
  const startOf = (context: { lines: number; empty_lines: number }) => lastEnd + 1 + (context.empty_lines - emptyLines);
  const records: SourceRecord[] = [];
  try {
    parse(text, {
      bom: true,
      skip_empty_lines: true,
      columns: (names: string[]) => {
        header = names.map((name) => name.trim().toLowerCase());
        const problems = headerProblems(header);
        if (problems.length > 0) throw refuse(file, problems);
        return header;
      },
      on_record: (record: Record<string, string>, context) => {
        const at = `line ${startOf(context)}`;
        records.push({ at, column: (field) => `column ${header.indexOf(field) + 1} (${field})`, fields: record });
        lastEnd = context.lines;
        emptyLines = context.empty_lines;
        return null;
      },
    });
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw refuse(file, [csvProblem(error as CsvFailure, header, startOf)]);
  }
  if (header.length === 0) throw refuse(file, ['the file is empty (it needs a header line: name,base_url,api_key)']);
  return records;
}

function headerProblems(header: string[]): string[] {
  const missing = REQUIRED_COLUMNS.filter((column) => !header.includes(column));
  const doubled = COLUMNS.filter((column) => header.filter((name) => name === column).length > 1);
  const problems: string[] = [];
  // The header is not quoted back: a file without one has a row (and its key) there.
  if (missing.length > 0)
    problems.push(`line 1 must be a header naming the columns name, base_url, api_key (missing: ${missing.join(', ')})`);
  if (doubled.length > 0) problems.push(`line 1 names ${doubled.join(', ')} more than once`);
  return problems;
}

/** What csv-parse's CsvError carries that is safe to use: positions and counts, never its message or record. */
interface CsvFailure {
  code?: string;
  lines?: number;
  empty_lines?: number;
  index?: number;
  record?: unknown[];
}

function csvProblem(error: CsvFailure, header: string[], startOf: (context: { lines: number; empty_lines: number }) => number): string {
  const line = startOf({ lines: error.lines ?? 0, empty_lines: error.empty_lines ?? 0 });
  const index = error.index ?? 0;
  // Only our own column names are named: in a file without a header, "header" holds a row.
  const column = `column ${index + 1}${(COLUMNS as readonly string[]).includes(header[index]) ? ` (${header[index]})` : ''}`;
  // A quote error is on the line where csv-parse met the quote; an unclosed one, where its record starts.
  const quoteAt = `line ${error.lines ?? line}, ${column}`;
  switch (error.code?.replace(/^CSV_/, '')) {
    case 'QUOTE_NOT_CLOSED':
      return `line ${line}, ${column}: a quoted field is never closed (a " opens it and no " ends it before the end of the file)`;
    case 'INVALID_OPENING_QUOTE':
      return `${quoteAt}: a " inside a field that is not quoted; quote the whole field and double the quotes inside it ("a ""b"" c")`;
    case 'INVALID_CLOSING_QUOTE':
    case 'NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
      return `${quoteAt}: text after a quoted field's closing "; quote the whole field and double the quotes inside it`;
    case 'RECORD_INCONSISTENT_COLUMNS':
    case 'RECORD_INCONSISTENT_FIELDS_LENGTH': {
      const found = Array.isArray(error.record) ? error.record.length : undefined;
      const missing = found === undefined ? [] : header.slice(found).filter((name) => (COLUMNS as readonly string[]).includes(name));
      return `line ${line}: ${found ?? 'a different number of'} fields where the header has ${header.length}${missing.length > 0 ? ` (no ${missing.join(', ')})` : ''}`;
    }
    default:
      return `line ${line}: not a CSV this import can read (${error.code ?? 'unknown error'})`;
  }
}

function jsonRecords(text: string, file: string): SourceRecord[] {
  let parsed: unknown;
  try {
    // JSON.parse's message quotes the text around the fault: it is never shown.
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new InvalidInputError(`${file} is not valid JSON.`);
  }
  if (!Array.isArray(parsed)) throw new InvalidInputError(`${file} must hold a JSON list of {name, base_url, api_key}.`);
  return parsed.map((item, index) => ({
    at: `row ${index + 1}`,
    column: (field: string) => `field ${field}`,
    fields: item && typeof item === 'object' && !Array.isArray(item) ? (item as Record<string, unknown>) : null,
  }));
}

function validateRecords(records: SourceRecord[], file: string): ImportedWorkspace[] {
  const problems: string[] = [];
  const rows: ImportedWorkspace[] = [];
  const seen = new Map<string, string>();
  for (const { at, column, fields } of records) {
    if (fields === null) {
      problems.push(`${at}: not an object of name, base_url, api_key`);
      continue;
    }
    const name = text(fields.name);
    const baseUrl = text(fields.base_url ?? fields.baseUrl);
    const apiKey = text(fields.api_key ?? fields.apiKey);
    const idText = text(fields.emailbison_workspace_id ?? fields.emailbisonWorkspaceId);
    const nameProblem = name === undefined ? 'name must be text' : workspaceNameProblem(name);
    const label = nameProblem ? at : `${at} ("${name}")`;
    if (nameProblem) problems.push(`${at}, ${column('name')}: ${nameProblem}`);
    else {
      const first = seen.get(name!.toLowerCase());
      if (first) problems.push(`${label}, ${column('name')}: the name appears twice (also ${first}; names are unique regardless of case)`);
      else seen.set(name!.toLowerCase(), at);
    }
    const urlProblem = baseUrl === undefined ? 'base_url must be text' : baseUrlProblem(baseUrl);
    if (urlProblem) problems.push(`${label}, ${column('base_url')}: ${urlProblem}`);
    const keyProblem = apiKey === undefined ? 'api_key must be text' : apiKeyProblem(apiKey);
    if (keyProblem) problems.push(`${label}, ${column('api_key')}: ${keyProblem}`);
    if (idText !== undefined && idText !== '' && !/^\d+$/.test(idText))
      problems.push(`${label}, ${column('emailbison_workspace_id')}: emailbison_workspace_id must be a whole number`);
    if (!nameProblem && !urlProblem && !keyProblem)
      rows.push({
        name: name!,
        baseUrl: baseUrl!,
        apiKey: apiKey!,
        emailbisonWorkspaceId: idText ? Number(idText) : undefined,
        at,
      });
  }
  if (records.length === 0) problems.push('no rows');
  if (problems.length > 0) {
    // A valid-looking name can still hold a key (a quote that swallowed a row): take every key out.
    const keys = records.map((r) => text(r.fields?.api_key ?? r.fields?.apiKey)).filter((k): k is string => !!k);
    const error = refuse(file, problems);
    error.message = redactSecrets(error.message, keys);
    throw error;
  }
  return rows;
}

/** A field as trimmed text: strings and numbers; undefined for anything else present; '' when absent. */
function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

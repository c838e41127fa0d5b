import stringWidth from 'string-width';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli';
import { createTestDatabase } from '../helpers/database';

/*
 * Issue 19 item 7: values from EmailBison or a delivery reach a terminal. An account email
 * holding `ESC[2J` (clear the screen), `ESC]0;title BEL` (set the window title) and a
 * bidirectional override (U+202E, which shows `moc.live` for `evil.com`) must print with
 * those characters escaped visibly, in `changes` and in every table, through the CLI bundle
 * as users run it (bin/sender-sync.mjs), columns still aligned; --json stays JSON that
 * reads back to the same values, with nothing raw a terminal would obey.
 */
const db = await createTestDatabase();
const env = { DATABASE_URL: db.url };

const ESC = '\u001b';
const BEL = '\u0007';
const RLO = '\u202e';
const HOSTILE_EMAIL = `ops${ESC}[2J${ESC}]0;pwned${BEL}${RLO}moc.live@example.com`;
const HOSTILE_WORKSPACE = `Acme${ESC}[31m Red${RLO}\u2066 Co`;
const HOSTILE_STATUS = `Not connected\r${ESC}[1A${ESC}[2K`;
const HOSTILE_ERROR = `EmailBison said: <html>${ESC}]0;title${BEL}\u009b2J gone</html>`;
const JOB_ID = '00000000-0000-4000-8000-0000000000e5';

/** Anything a terminal would act on: C0 (but the line feed), DEL, C1, bidirectional controls. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters under test.
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

beforeAll(async () => {
  const [hostile] = await db.sql<{ id: number }[]>`
    insert into workspaces (name, base_url, api_key_ref) values (${HOSTILE_WORKSPACE}, 'https://send.example.com', 'env:EVIL_KEY') returning id
  `;
  const [plain] = await db.sql<{ id: number }[]>`
    insert into workspaces (name, base_url, api_key_ref) values ('Plain Co', 'https://send.example.com', 'env:PLAIN_KEY') returning id
  `;
  await db.sql`
    insert into sender_email_changes (workspace_id, emailbison_id, email, field, old_value, new_value, observed_at, source, job_id)
    values
      (${hostile.id}, 7, ${HOSTILE_EMAIL}, 'status', to_jsonb('Connected'::text), to_jsonb(${HOSTILE_STATUS}::text), now() - interval '2 minutes', 'sync', ${JOB_ID}),
      (${plain.id}, 8, 'plain@example.com', 'status', to_jsonb('Connected'::text), to_jsonb('Not connected'::text), now() - interval '1 minute', 'sync', ${JOB_ID})
  `;
  await db.sql`
    insert into polling_job_status (id, job_name, status, completed_at, warnings, error_message)
    values (${JOB_ID}, 'escapes', 'partial', now(), ${[`${HOSTILE_WORKSPACE}: ${HOSTILE_ERROR}`]}::text[], null)
  `;
  await db.sql`
    insert into polling_job_workspaces (job_id, workspace_id, workspace_name, status, error, finished_at)
    values (${JOB_ID}, ${hostile.id}, ${HOSTILE_WORKSPACE}, 'failed', ${HOSTILE_ERROR}, now()),
           (${JOB_ID}, ${plain.id}, 'Plain Co', 'synced', null, now())
  `;
});

/** The display column where `needle` starts on `line`, as a terminal shows it. */
const columnOf = (line: string, needle: string) => stringWidth(line.slice(0, line.indexOf(needle)));

function expectNothingRaw(output: string) {
  const found = RAW.exec(output);
  expect(found ? `U+${found[0].charCodeAt(0).toString(16).padStart(4, '0')} at ${found.index}` : 'none').toBe('none');
}

describe('upstream text on a terminal', () => {
  it('`changes` prints the hostile email, status and workspace escaped, its columns aligned', async () => {
    const result = await cli(['changes'], env);
    expect(result.code).toBe(0);
    expectNothingRaw(result.stdout);
    expect(result.stdout).toContain('ops\\x1b[2J\\x1b]0;pwned\\x07\\u202emoc.live@example.com');
    expect(result.stdout).toContain('Acme\\x1b[31m Red\\u202e\\u2066 Co');
    expect(result.stdout).toContain('Not connected\\x0d\\x1b[1A\\x1b[2K');

    const lines = result.stdout.split('\n');
    const header = lines[0];
    const rows = lines.filter((line) => line.includes('example.com'));
    expect(rows).toHaveLength(2);
    for (const column of ['field', 'old', 'source']) {
      const at = columnOf(header, column);
      for (const row of rows) {
        const cell = column === 'field' ? 'status' : column === 'old' ? 'Connected' : 'sync';
        expect(columnOf(row, ` ${cell}`) + 1, `${column} in ${row}`).toBe(at);
      }
    }
  });

  it('`changes --json` is JSON that reads back to the same values, with no raw control or bidirectional character', async () => {
    const result = await cli(['changes', '--json'], env);
    expect(result.code).toBe(0);
    expectNothingRaw(result.stdout);
    expect(result.stdout).toContain('\\u202e');
    const { changes } = JSON.parse(result.stdout);
    const hostile = changes.find((c: { emailbison_id: number }) => c.emailbison_id === 7);
    expect(hostile).toMatchObject({ email: HOSTILE_EMAIL, workspace: HOSTILE_WORKSPACE, new_value: HOSTILE_STATUS });
  });

  it.each([
    ['workspaces list', ['workspaces', 'list']],
    ['status', ['status', JOB_ID]],
    ['missing', ['missing']],
    ['accounts', ['accounts']],
  ])('the %s table prints it escaped, aligned', async (_name, args) => {
    const result = await cli(args, env);
    expect(result.code, result.stderr).not.toBe(1);
    expectNothingRaw(result.stdout);
    expect(result.stdout).toContain('Acme\\x1b[31m Red\\u202e\\u2066 Co');
    const lines = result.stdout.split('\n');
    const hostileRow = lines.find((line) => line.includes('Acme\\x1b'))!;
    const plainRow = lines.find((line) => line.includes('Plain Co'));
    if (plainRow) {
      // The cell after the workspace starts at the same column in both rows.
      const after = (row: string, name: string) => stringWidth(row.slice(0, row.indexOf(name) + name.length).trimEnd());
      const next = (row: string, name: string) => {
        const rest = row.slice(row.indexOf(name) + name.length);
        return after(row, name) + stringWidth(rest.slice(0, rest.length - rest.trimStart().length));
      };
      expect(next(hostileRow, 'Acme\\x1b[31m Red\\u202e\\u2066 Co')).toBe(next(plainRow, 'Plain Co'));
    }
  });

  it('`status` shows the job warning that quotes EmailBison escaped, C1 controls included', async () => {
    const result = await cli(['status', JOB_ID], env);
    expectNothingRaw(result.stdout);
    expect(result.stdout).toContain('\\x1b]0;title\\x07\\x9b2J gone');
  });

  it('an error line quoting its input prints it escaped', async () => {
    const result = await cli(['changes', '--since', `${ESC}[2J${RLO}`], env);
    expect(result.code).toBe(64);
    expectNothingRaw(result.stderr);
    expect(result.stderr).toContain('got "\\x1b[2J\\u202e"');
  });
});

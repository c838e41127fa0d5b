import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../../lambdas/runtime/run-events';
import { colorsFor } from '../../../cli/colors';
import { createRunProgress, formatDuration, progressLine } from '../../../cli/progress';
import { RunTally } from '../../../cli/run-tally';

/*
 * The run's progress display, fed a scripted run's typed events, rendered to a fake stream
 * (a terminal or not, NO_COLOR, TERM=dumb) and, on a terminal, replayed on a small screen
 * model so the tests read what a person would see.
 */

const JOB = 'job-1';
const ESC = '\u001b';
const acme = { id: 1, name: 'Acme Outbound' };
const saoPaulo = { id: 2, name: 'São Paulo Growth Partners' };
const juniper = { id: 3, name: 'Juniper Health' };

/** A run of three workspaces: Acme reads its pages, São Paulo syncs one account, Juniper's key is rejected. */
function scriptedRun(expected: { acme: number | null; saoPaulo: number | null; juniper: number | null }): RunEvent[] {
  return [
    {
      type: 'job-started',
      jobId: JOB,
      workspaces: [
        { ...acme, lastAccountsSynced: expected.acme },
        { ...saoPaulo, lastAccountsSynced: expected.saoPaulo },
        { ...juniper, lastAccountsSynced: expected.juniper },
      ],
    },
    { type: 'workspace-syncing', jobId: JOB, workspace: acme, cursor: null },
    { type: 'workspace-syncing', jobId: JOB, workspace: saoPaulo, cursor: null },
    { type: 'page-synced', jobId: JOB, workspace: acme, page: 1, lastPage: 2, accountsRead: 100 },
    { type: 'workspace-synced', jobId: JOB, workspace: saoPaulo, accountsSynced: 1 },
    { type: 'workspace-attempt-failed', jobId: JOB, workspace: { id: 3 }, error: { name: 'RejectedApiKeyError', message: 'HTTP 401' } },
    { type: 'workspace-failed', jobId: JOB, workspace: { id: 3 }, error: 'RejectedApiKeyError: HTTP 401' },
    { type: 'page-synced', jobId: JOB, workspace: acme, page: 2, lastPage: 2, accountsRead: 187 },
    { type: 'workspace-synced', jobId: JOB, workspace: acme, accountsSynced: 187 },
  ];
}

interface FakeStream {
  isTTY: boolean;
  columns: number;
  rows: number;
  output: string;
  write(chunk: string): boolean;
}

function fakeStream(isTTY: boolean, columns = 120): FakeStream {
  return {
    isTTY,
    columns,
    rows: 40,
    output: '',
    write(chunk) {
      this.output += chunk;
      return true;
    },
  };
}

/** Plays what was written on a screen: text, newlines, and the escapes log-update uses. */
function screen(output: string): { lines: string[]; row: number; column: number } {
  const lines = [''];
  let row = 0;
  let column = 0;
  const put = (ch: string) => {
    const line = lines[row].padEnd(column, ' ');
    lines[row] = line.slice(0, column) + ch + line.slice(column + 1);
    column += 1;
  };
  const sequence = new RegExp(`^${ESC}\\[([0-9;?]*)([A-Za-z])`);
  for (let i = 0; i < output.length; ) {
    const match = sequence.exec(output.slice(i));
    if (match) {
      const [all, arg, command] = match;
      const n = Number(arg || 1);
      if (command === 'A') row = Math.max(0, row - n);
      else if (command === 'B') row += n;
      else if (command === 'G') column = 0;
      else if (command === 'K') lines[row] = arg === '2' ? '' : lines[row].slice(0, column);
      // SGR colours (m) and synchronized output (?2026h/l) change nothing on the screen.
      while (lines.length <= row) lines.push('');
      i += all.length;
      continue;
    }
    const ch = [...output.slice(i, i + 2)][0];
    if (ch === '\n') {
      row += 1;
      column = 0;
      while (lines.length <= row) lines.push('');
    } else put(ch);
    i += ch.length;
  }
  return { lines, row, column };
}

const SGR_COLOUR = new RegExp(`${ESC}\\[(3[0-9]|9[0-9])m`);
const ANY_ESCAPE = new RegExp(ESC);

function render(stream: FakeStream, env: Record<string, string | undefined>, events: RunEvent[], stop = true) {
  let now = 0;
  const progress = createRunProgress({ stream, env, now: () => now, redrawMs: 0 });
  progress.note('simulated instance: pagination page');
  for (const event of events) {
    now += 500;
    progress.onEvent(event);
  }
  if (stop) progress.stop();
  return progress;
}

describe('progress off a terminal', () => {
  it('prints one plain line per workspace as it ends, with plurals right, and no escape sequence', () => {
    const stream = fakeStream(false);
    render(stream, {}, scriptedRun({ acme: 187, saoPaulo: 1, juniper: 265 }));
    expect(ANY_ESCAPE.test(stream.output)).toBe(false);
    expect(stream.output.split('\n')).toEqual([
      'simulated instance: pagination page',
      'São Paulo Growth Partners: synced 1 account (1 of 3 workspaces)',
      'Juniper Health: attempt failed: RejectedApiKeyError: HTTP 401',
      'Juniper Health: FAILED (RejectedApiKeyError: HTTP 401); the other workspaces go on (2 of 3 workspaces)',
      'Acme Outbound: synced 187 accounts (3 of 3 workspaces)',
      '',
    ]);
  });

  it('draws no bar and no colour on a terminal that says TERM=dumb', () => {
    const stream = fakeStream(true);
    render(stream, { TERM: 'dumb' }, scriptedRun({ acme: 187, saoPaulo: 1, juniper: 265 }));
    expect(ANY_ESCAPE.test(stream.output)).toBe(false);
    expect(stream.output).toContain('Acme Outbound: synced 187 accounts (3 of 3 workspaces)\n');
    expect(stream.output).not.toContain('█');
  });
});

describe('progress on a terminal', () => {
  it('redraws a bar of accounts read / expected with an ETA, in colour, under the lines of workspaces that ended', () => {
    const stream = fakeStream(true);
    const events = scriptedRun({ acme: 187, saoPaulo: 1, juniper: 265 });
    render(stream, { TERM: 'xterm-256color' }, events.slice(0, 5), false);
    expect(SGR_COLOUR.test(stream.output)).toBe(true);
    const { lines } = screen(stream.output);
    expect(lines.filter(Boolean)).toEqual([
      'simulated instance: pagination page',
      'São Paulo Growth Partners: synced 1 account',
      // 101 of 453 read in 2 s: 352 left at ~50 a second.
      '[████░░░░░░░░░░░░░░░░] 101 / 453 accounts · 1 of 3 workspaces · ETA 7 s · syncing Acme Outbound (page 1/2)',
    ]);
  });

  it('ends, at stop(), with the bar cleared and the cursor at the start of an empty line; later events print nothing', () => {
    const stream = fakeStream(true);
    const events = scriptedRun({ acme: 187, saoPaulo: 1, juniper: 265 });
    const progress = render(stream, {}, events);
    const { lines, row, column } = screen(stream.output);
    expect(lines.filter(Boolean)).toEqual([
      'simulated instance: pagination page',
      'São Paulo Growth Partners: synced 1 account',
      'Juniper Health: attempt failed: RejectedApiKeyError: HTTP 401',
      'Juniper Health: FAILED (RejectedApiKeyError: HTTP 401); the other workspaces go on',
      'Acme Outbound: synced 187 accounts',
    ]);
    expect(lines[row]).toBe('');
    expect(column).toBe(0);
    expect(row).toBe(5);
    const written = stream.output.length;
    progress.onEvent(events[3]);
    progress.note('after the summary');
    progress.stop();
    expect(stream.output.length).toBe(written);
  });

  it('colours a failure red and a retried attempt yellow, and none of it with NO_COLOR (the bar still redraws)', () => {
    const coloured = fakeStream(true);
    render(coloured, {}, scriptedRun({ acme: 187, saoPaulo: 1, juniper: 265 }));
    expect(coloured.output).toContain('\u001b[31mJuniper Health: FAILED');
    expect(coloured.output).toContain('\u001b[33mJuniper Health: attempt failed');
    expect(coloured.output).toContain('\u001b[32msynced\u001b[39m 187 accounts');

    const plain = fakeStream(true);
    render(plain, { NO_COLOR: '1' }, scriptedRun({ acme: 187, saoPaulo: 1, juniper: 265 }));
    expect(SGR_COLOUR.test(plain.output)).toBe(false);
    expect(plain.output).toContain('█');
    expect(screen(plain.output).lines.filter(Boolean)).toEqual(screen(coloured.output).lines.filter(Boolean));
  });

  it('counts workspaces, with no ETA, when a workspace was never synced (its accounts are unknown)', () => {
    const stream = fakeStream(true);
    render(stream, { NO_COLOR: '1' }, scriptedRun({ acme: 187, saoPaulo: 1, juniper: null }).slice(0, 5), false);
    const bar = screen(stream.output).lines.filter(Boolean).at(-1);
    expect(bar).toBe('[███████░░░░░░░░░░░░░] 1 of 3 workspaces · 101 accounts · syncing Acme Outbound (page 1/2)');
  });

  it('fits the bar to the terminal width, cutting the workspaces in flight, and dropping them when little room is left', () => {
    const barAt = (columns: number) => {
      const stream = fakeStream(true, columns);
      render(stream, { NO_COLOR: '1' }, scriptedRun({ acme: 187, saoPaulo: 1, juniper: 265 }).slice(0, 5), false);
      return screen(stream.output).lines.filter(Boolean).at(-1) ?? '';
    };
    const wide = barAt(95);
    expect(wide).toBe('[████░░░░░░░░░░░░░░░░] 101 / 453 accounts · 1 of 3 workspaces · ETA 7 s · syncing Acme Outbou…');
    expect([...wide].length).toBe(94);
    expect(barAt(80)).toBe('[████░░░░░░░░░░░░░░░░] 101 / 453 accounts · 1 of 3 workspaces · ETA 7 s');
  });
  it('redraws at most every 50 ms for page events, whatever their rate', () => {
    const stream = fakeStream(true);
    let now = 0;
    const progress = createRunProgress({ stream, env: {}, now: () => now, redrawMs: 0 });
    progress.onEvent({ type: 'job-started', jobId: JOB, workspaces: [{ ...acme, lastAccountsSynced: 1000 }] });
    for (let page = 1; page <= 100; page++) {
      now += 1;
      progress.onEvent({ type: 'page-synced', jobId: JOB, workspace: acme, page, lastPage: 100, accountsRead: page * 10 });
    }
    const frames = stream.output.split('\u001b[?2026h').length - 1;
    expect(frames).toBe(3); // at 0, 50 and 100 ms
    progress.stop();
  });
});

describe('the tally behind the bar', () => {
  it('keeps counting across a pause and a retry, never going back, counts the retry once it starts, and takes the sync’s own count at the end', () => {
    let now = 0;
    const tally = new RunTally(() => now);
    tally.apply({ type: 'job-started', jobId: JOB, workspaces: [{ ...acme, lastAccountsSynced: 180 }] });
    tally.apply({ type: 'page-synced', jobId: JOB, workspace: acme, page: 5, lastPage: 13, accountsRead: 75 });
    tally.apply({ type: 'workspace-paused', jobId: JOB, workspace: acme, cursor: { mode: 'page', page: 6 }, accountsSynced: 75 });
    tally.apply({ type: 'page-synced', jobId: JOB, workspace: acme, page: 6, lastPage: 13, accountsRead: 15 });
    expect(tally.snapshot().accountsRead).toBe(90);
    tally.apply({
      type: 'workspace-attempt-failed',
      jobId: JOB,
      workspace: acme,
      error: { name: 'EmailBisonServerError', message: '503' },
    });
    expect(tally.snapshot().attemptsRetried).toBe(0);
    tally.apply({ type: 'workspace-syncing', jobId: JOB, workspace: acme, cursor: { mode: 'page', page: 6 } });
    tally.apply({ type: 'page-synced', jobId: JOB, workspace: acme, page: 6, lastPage: 13, accountsRead: 10 });
    now = 3000;
    expect(tally.snapshot()).toMatchObject({ accountsRead: 90, accountsExpected: 180, attemptsRetried: 1, etaMs: 3000 });
    tally.apply({ type: 'workspace-synced', jobId: JOB, workspace: acme, accountsSynced: 187 });
    expect(tally.snapshot()).toMatchObject({ accountsRead: 187, accountsExpected: 187, workspacesDone: 1, etaMs: 0 });
  });

  it('renders the bar of a snapshot without colour, and says durations in seconds, minutes and hours', () => {
    const tally = new RunTally(() => 0);
    tally.apply({ type: 'job-started', jobId: JOB, workspaces: [{ ...acme, lastAccountsSynced: 1 }] });
    const line = progressLine(tally.snapshot(), colorsFor({ isTTY: false }, {}), 200);
    expect(line).toBe('[░░░░░░░░░░░░░░░░░░░░] 0 / 1 account · 0 of 1 workspace');
    expect([formatDuration(400), formatDuration(59_400), formatDuration(75_000), formatDuration(4_000_000)]).toEqual([
      '1 s',
      '59 s',
      '1 min 15 s',
      '1 h 6 min',
    ]);
  });
});

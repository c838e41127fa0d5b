import { createLogUpdate } from 'log-update';
import type { RunEvent } from '../lambdas/runtime/run-events';
import { describeWalkCursor } from '../lambdas/sync/walk-state';
import { type Colors, colorsFor, type OutputStream, redrawable } from './colors';
import { RunTally, type TallySnapshot } from './run-tally';
import { fitWidth, width } from './table';
import { visible, visibleLines } from './terminal-text';
import { formatCount, plural } from './words';

/*
 * What a person sees while a run goes on, from its typed events (never its log text), on
 * stderr: stdout keeps the result. On a terminal: a bar of accounts read / expected (from
 * each workspace's last sync) with an ETA, redrawn in place under the lines of workspaces
 * as they end; when a workspace was never synced the total is unknown, and the bar counts
 * workspaces, without an ETA. Elsewhere (a pipe, a file, TERM=dumb): one plain line per
 * workspace as it ends, no escape sequence at all.
 */

export interface ProgressStream extends OutputStream {
  write(chunk: string): boolean;
  columns?: number;
  rows?: number;
}

export interface RunProgressOptions {
  stream: ProgressStream;
  env: Record<string, string | undefined>;
  now?: () => number;
  /** How often the bar is redrawn between events (elapsed time and ETA move on their own); 0: only on events. */
  redrawMs?: number;
}

export interface RunProgress {
  onEvent(event: RunEvent): void;
  /** A line of the run's own (the simulator it started, the request cap), above the bar. */
  note(message: string): void;
  /** Clears the bar, leaving the cursor at the start of an empty line; prints nothing after. */
  stop(): void;
}

const BAR_CELLS = 20;
const MESSAGE_WIDTH = 160;
const MIN_FLYING_WIDTH = 16;
const MIN_REDRAW_MS = 50;

export function createRunProgress(options: RunProgressOptions): RunProgress {
  const { stream, env } = options;
  const now = options.now ?? Date.now;
  const tally = new RunTally(now);
  const colors = colorsFor(stream, env);
  const live = redrawable(stream, env);
  const frame = live ? createLogUpdate(stream as NodeJS.WriteStream, { showCursor: true }) : undefined;
  let stopped = false;
  let drawnAt = Number.NEGATIVE_INFINITY;
  const draw = () => {
    if (!frame || stopped) return;
    const snapshot = tally.snapshot();
    if (!snapshot.started) return;
    drawnAt = now();
    frame(progressLine(snapshot, colors, (stream.columns ?? 80) - 1));
  };
  const line = (text: string) => {
    if (stopped) return;
    if (frame) {
      frame.persist(text);
      draw();
    } else stream.write(`${text}\n`);
  };
  const timer = frame && (options.redrawMs ?? 200) > 0 ? setInterval(draw, options.redrawMs ?? 200) : undefined;
  timer?.unref();

  const onEvent = (event: RunEvent): void => {
    if (stopped) return;
    tally.apply(event);
    const text = eventLine(event, tally, colors, live);
    if (text !== undefined) line(text);
    // A page event can come every few milliseconds: redraw at most every MIN_REDRAW_MS for those.
    else if (now() - drawnAt >= MIN_REDRAW_MS) draw();
  };
  return {
    onEvent,
    note: line,
    stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      frame?.clear();
    },
  };
}

/**
 * The line an event earns above the bar (or alone, off a terminal); undefined: the bar says it.
 * Workspace names and errors come from EmailBison: escaped (terminal-text.ts) before any colour.
 */
export function eventLine(event: RunEvent, tally: RunTally, c: Colors, live: boolean): string | undefined {
  switch (event.type) {
    case 'already-running':
      return c.yellow(
        `warning: another run (job ${event.runningJobId}) has held the lock for ${plural(event.runningForSeconds, 'second')}: not starting`,
      );
    case 'workspace-syncing':
      // Only a continuation is news off a terminal; on one, the bar names the workspaces in flight.
      return !live && event.cursor ? `${visible(event.workspace.name)}: continuing from ${describeWalkCursor(event.cursor)}` : undefined;
    case 'workspace-paused':
      return `${visible(event.workspace.name)}: time budget reached at ${event.cursor ? describeWalkCursor(event.cursor) : 'the end'}; continuing`;
    case 'workspace-synced': {
      const done = live ? '' : ` (${doneOfTotal(tally.snapshot())})`;
      return `${visible(event.workspace.name)}: ${c.green('synced')} ${plural(event.accountsSynced, 'account')}${done}`;
    }
    case 'workspace-attempt-failed':
      return c.yellow(
        `${visible(tally.nameOf(event.workspace))}: attempt failed: ${oneLine(`${event.error.name}: ${event.error.message}`)}`,
      );
    case 'workspace-failed': {
      const done = live ? '' : ` (${doneOfTotal(tally.snapshot())})`;
      return c.red(`${visible(tally.nameOf(event.workspace))}: FAILED (${oneLine(event.error)}); the other workspaces go on${done}`);
    }
    case 'changes-digest':
      // A local run has no ChangesTopic: the digest is printed where it would have been sent.
      return visibleLines(`${event.subject}\n${event.message}`);
    default:
      return undefined;
  }
}

/**
 * The bar line, at most `columns` wide (by display width):
 *   [████████░░░░░░░░░░░░] 1,690 / 4,228 accounts · 9 of 26 workspaces · ETA 3 s · syncing Acme Outbound (page 4/13)
 * and, when some workspace's expected count is unknown:
 *   [███████░░░░░░░░░░░░░] 9 of 26 workspaces · 1,690 accounts · syncing Acme Outbound (page 4/13)
 */
export function progressLine(s: TallySnapshot, c: Colors, columns: number): string {
  const known = s.accountsExpected !== undefined;
  const fraction = known
    ? s.accountsExpected === 0
      ? s.workspacesDone / Math.max(1, s.workspacesTotal)
      : s.accountsRead / (s.accountsExpected as number)
    : s.workspacesDone / Math.max(1, s.workspacesTotal);
  const parts = known
    ? [`${formatCount(s.accountsRead)} / ${plural(s.accountsExpected as number, 'account')}`, doneOfTotal(s)]
    : [doneOfTotal(s), plural(s.accountsRead, 'account')];
  if (s.workspacesFailed > 0) parts.push(c.red(`${formatCount(s.workspacesFailed)} failed`));
  if (s.attemptsRetried > 0) parts.push(c.yellow(`${plural(s.attemptsRetried, 'attempt')} retried`));
  if (s.etaMs !== undefined) parts.push(`ETA ${formatDuration(s.etaMs)}`);
  const head = `${bar(fraction, s.workspacesFailed > 0 ? c.yellow : c.green)} ${parts.join(' · ')}`;
  const flying = s.inFlight
    .map((w) => (w.page ? `${visible(w.name)} (page ${w.page.page}/${w.page.lastPage})` : visible(w.name)))
    .join(', ');
  const room = columns - width(head);
  if (room < 0) return fitWidth(head, columns);
  // The workspaces in flight take what room is left, cut by display width; the coloured head is never cut.
  return flying && room >= MIN_FLYING_WIDTH ? head + fitWidth(` · syncing ${flying}`, room) : head;
}

function bar(fraction: number, colour: (text: string) => string): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_CELLS);
  return `[${colour('█'.repeat(filled))}${'░'.repeat(BAR_CELLS - filled)}]`;
}

function doneOfTotal(s: TallySnapshot): string {
  return `${formatCount(s.workspacesDone)} of ${plural(s.workspacesTotal, 'workspace')}`;
}

/** 900 -> "1 s"; 75_000 -> "1 min 15 s"; 4_000_000 -> "1 h 7 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`;
  return `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
}

function oneLine(text: string): string {
  return fitWidth(visible(text.replace(/\s+/g, ' ').trim()), MESSAGE_WIDTH);
}

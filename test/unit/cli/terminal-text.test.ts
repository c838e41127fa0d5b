import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { colorsFor } from '../../../cli/colors';
import { eventLine, progressLine } from '../../../cli/progress';
import { RunTally } from '../../../cli/run-tally';
import { table, truncateText } from '../../../cli/table';
import { terminalJson, visible, visibleLines } from '../../../cli/terminal-text';

/* Terminal safety (issue 19 item 7): upstream text is printed with what a terminal obeys escaped. */

const ESC = '\u001b';
const BEL = '\u0007';
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters under test.
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

describe('visible', () => {
  it('escapes C0 (ESC, BEL, CR, LF, TAB), DEL and C1 as \\xHH', () => {
    expect(visible(`a${ESC}[2J${ESC}]0;title${BEL}b\r\n\t\u007f\u0085\u009bc`)).toBe(
      'a\\x1b[2J\\x1b]0;title\\x07b\\x0d\\x0a\\x09\\x7f\\x85\\x9bc',
    );
  });

  it('escapes every bidirectional mark, embedding, override and isolate as \\uHHHH', () => {
    const bidi = ['\u061c', '\u200e', '\u200f', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069'];
    expect(visible(bidi.join(''))).toBe(bidi.map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''));
  });

  it('leaves printable text alone, accents, CJK and emoji included, and is idempotent', () => {
    for (const text of ['São Paulo Growth', '東京 Sales', '🚀 Rocket Labs', 'a\\x1b literal', 'naïve café'])
      expect(visible(text)).toBe(text);
    const once = visible(`x${ESC}\u202ey`);
    expect(visible(once)).toBe(once);
  });

  it('visibleLines keeps line breaks and escapes the rest', () => {
    expect(visibleLines(`one${ESC}[2J\ntwo\r`)).toBe('one\\x1b[2J\ntwo\\x0d');
  });
});

describe('terminalJson', () => {
  it('is the same JSON value, with DEL, C1 and bidirectional characters as \\u escapes', () => {
    const value = { email: `ops${ESC}[2J\u202emoc.live@x.io\u007f\u0085`, tags: ['\u2066a\u2069'] };
    const json = terminalJson(value, 2);
    expect(RAW.test(json)).toBe(false);
    expect(json).toContain('\\u202e');
    expect(json).toContain('\\u001b');
    expect(JSON.parse(json)).toEqual(value);
    expect(RAW.test(JSON.stringify(value))).toBe(true);
  });
});

describe('tables', () => {
  it('show hostile cells escaped, and keep the columns after them aligned', () => {
    const out = table(
      ['account', 'status'],
      [
        [`ops${ESC}[2J${ESC}]0;t${BEL}\u202e@x.io`, 'Connected'],
        ['plain@x.io', `Not connected\r${ESC}[1A`],
        ['東京@x.io', 'Connected'],
      ],
    );
    expect(RAW.test(out)).toBe(false);
    const lines = out.split('\n');
    const statusColumn = stringWidth(lines[0].slice(0, lines[0].indexOf('status')));
    for (const line of lines.slice(2)) {
      const at = line.search(/ (Connected|Not connected)/) + 1;
      expect(stringWidth(line.slice(0, at))).toBe(statusColumn);
    }
  });

  it('truncateText cuts the escaped text, so no escape sequence is hidden by the cut', () => {
    const cut = truncateText(`${ESC}]0;${'x'.repeat(100)}${BEL}`, 20);
    expect(cut.startsWith('\\x1b]0;')).toBe(true);
    expect(stringWidth(cut)).toBeLessThanOrEqual(20);
  });
});

describe('the run progress', () => {
  const c = colorsFor({ isTTY: false }, {});
  const hostile = { id: 1, name: `Acme${ESC}]0;pwned${BEL}\u202e` };

  it('prints workspace names, errors and the digest escaped', () => {
    const tally = new RunTally(() => 0);
    tally.apply({ type: 'job-started', jobId: 'j', workspaces: [{ ...hostile, lastAccountsSynced: 10 }] });
    const lines = [
      eventLine({ type: 'workspace-synced', jobId: 'j', workspace: hostile, accountsSynced: 3 }, tally, c, false),
      eventLine({ type: 'workspace-failed', jobId: 'j', workspace: { id: 1 }, error: `HTTP 500 ${ESC}[2J` }, tally, c, false),
      eventLine(
        { type: 'workspace-attempt-failed', jobId: 'j', workspace: { id: 1 }, error: { name: 'E', message: `${ESC}[2J` } },
        tally,
        c,
        false,
      ),
      eventLine({ type: 'changes-digest', jobId: 'j', subject: 's', message: `a\n  ops${ESC}[2J@x.io`, published: false }, tally, c, false),
    ];
    for (const line of lines) expect(RAW.test(line ?? ''), line).toBe(false);
    expect(lines[0]).toContain('Acme\\x1b]0;pwned\\x07\\u202e: synced');
    expect(lines[3]).toBe('s\na\n  ops\\x1b[2J@x.io');
  });

  it('names the workspaces in flight escaped on the bar', () => {
    const tally = new RunTally(() => 0);
    tally.apply({ type: 'job-started', jobId: 'j', workspaces: [{ ...hostile, lastAccountsSynced: 10 }] });
    tally.apply({ type: 'workspace-syncing', jobId: 'j', workspace: hostile, cursor: null });
    const line = progressLine(tally.snapshot(), c, 200);
    expect(line).toContain('syncing Acme\\x1b]0;pwned\\x07\\u202e');
  });
});

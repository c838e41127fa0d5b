/*
 * Every digest of account changes (the run's, from Finalize job; the webhooks', per
 * workspace) goes out as one SNS message, and SNS refuses a message over 256 KiB: at
 * about 85 workspaces with 50 changed accounts each the run digest used to pass it, and
 * its Publish failed on exactly the day it mattered (issue 19). fitDigest fits any digest
 * into MAX_DIGEST_BYTES, counting the UTF-8 bytes of the subject and the message together
 * (what SNS counts), and says what it left out and which command lists it all.
 */

/** 200 KB: SNS's limit is 256 KiB; the rest is room for what SNS adds (e-mail and JSON envelopes). */
export const MAX_DIGEST_BYTES = 200 * 1000;
/** A line longer than this (an upstream value of any size) is cut: one line never crowds out the others. */
export const MAX_LINE_BYTES = 1000;
/** SNS subjects: printable ASCII, one line, at most 100 characters. */
const MAX_SUBJECT_CHARS = 100;

/** A digest's part about one workspace: a heading, then a line per account. */
export interface DigestSection {
  heading: string;
  lines: string[];
  /** Accounts the section concerns, listed or not: counted when the section is left out. */
  accounts: number;
  /** Accounts the section already does not list (a per-workspace cap): "… and N more" after its lines. */
  notListed?: number;
  /** The command that lists what the section leaves out, when not the digest's changesCommand (warmup health: `sender-sync health`). */
  command?: string;
}

export interface Digest {
  subject: string;
  /** Lines before the sections. */
  intro: string[];
  sections: DigestSection[];
  /** The command that lists every change of the digest, named where something is left out: `sender-sync changes --since …`. */
  changesCommand: string;
}

export interface DigestMessage {
  subject: string;
  message: string;
}

/** The command that lists every change observed after `since` (a day's when unknown). */
export function changesCommand(since: Date | null | undefined): string {
  return `sender-sync changes --since ${since ? since.toISOString() : '24h'}`;
}

export const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** The digest as one SNS message of at most maxBytes (subject included): whole sections while they fit, then a summary of the rest. */
export function fitDigest(digest: Digest, maxBytes: number = MAX_DIGEST_BYTES): DigestMessage {
  const subject = snsSubject(digest.subject);
  const budget = maxBytes - utf8Bytes(subject);
  const out: string[] = [];
  let used = 0;
  const fits = (lines: string[], reserve = 0) => used + joinedBytes(lines, out.length > 0) + reserve <= budget;
  const push = (lines: string[]) => {
    used += joinedBytes(lines, out.length > 0);
    out.push(...lines);
  };

  const intro = digest.intro.map(capLine);
  if (intro.length > 0) push(fits(intro) ? intro : [cutToBytes(intro.join(' '), Math.max(0, budget - 200))]);
  const sections = digest.sections;
  for (let i = 0; i < sections.length; i++) {
    // A blank line between the parts of the message.
    const lead = out.length > 0 ? [''] : [];
    const section = sections[i];
    const heading = capLine(section.heading);
    const lines = section.lines.map(capLine);
    const notListed = section.notListed ?? 0;
    const rest = sections.slice(i + 1);
    const whole = [...lead, heading, ...lines, ...(notListed > 0 ? [`  … and ${formatCount(notListed)} more`] : [])];
    // Room is kept for the summary that would follow (a blank line and the line).
    if (fits(whole, rest.length > 0 ? 2 + utf8Bytes(summaryLine(rest, digest.changesCommand)) : 0)) {
      push(whole);
      continue;
    }
    // The section does not fit whole: its heading and the lines that fit, then what is left of it and of the rest.
    const summary = rest.length > 0 ? [summaryLine(rest, digest.changesCommand)] : [];
    const cut = (shown: number) =>
      `  … and ${formatCount(lines.length - shown + notListed)} more: \`${section.command ?? digest.changesCommand}\``;
    if (!fits([...lead, heading, cut(0), ...summary])) {
      // Room was kept for this line when the previous section went in: it fits.
      push([...lead, summaryLine(sections.slice(i), digest.changesCommand)]);
      break;
    }
    push([...lead, heading]);
    let shown = 0;
    while (shown < lines.length && fits([lines[shown], cut(shown + 1), ...summary])) push([lines[shown++]]);
    push([...(shown < lines.length || notListed > 0 ? [cut(shown)] : []), ...summary]);
    break;
  }
  return { subject, message: out.join('\n') };
}

/** "… and 37 more workspaces, 1,204 accounts: `sender-sync changes --since …`" (and `sender-sync health` when warmup sections are left). */
function summaryLine(rest: DigestSection[], changesCommand: string): string {
  const accounts = rest.reduce((sum, section) => sum + section.accounts, 0);
  const commands = [...new Set(rest.map((section) => section.command ?? changesCommand))].map((command) => `\`${command}\``);
  return `… and ${formatCount(rest.length)} more ${rest.length === 1 ? 'workspace' : 'workspaces'}, ${formatCount(accounts)} ${accounts === 1 ? 'account' : 'accounts'}: ${commands.join(', ')}`;
}

/** Bytes that `lines` add when joined after what is there (newline separators included). */
function joinedBytes(lines: string[], afterExisting: boolean): number {
  if (lines.length === 0) return 0;
  return lines.reduce((sum, line) => sum + utf8Bytes(line), 0) + lines.length - (afterExisting ? 0 : 1);
}

/** One line of at most MAX_LINE_BYTES, cut in the middle when longer: its end (": Connected → Not connected") stays. */
function capLine(line: string): string {
  const text = line.replace(/[\r\n]+/g, ' ');
  if (utf8Bytes(text) <= MAX_LINE_BYTES) return text;
  const tail = lastBytes(text, MAX_LINE_BYTES / 4);
  return `${cutToBytes(text, MAX_LINE_BYTES - utf8Bytes(tail))}${tail}`;
}

/** The end of the text in at most maxBytes of UTF-8, whole characters. */
function lastBytes(text: string, maxBytes: number): string {
  const chars = [...text];
  let used = 0;
  let start = chars.length;
  while (start > 0 && used + utf8Bytes(chars[start - 1]) <= maxBytes) used += utf8Bytes(chars[--start]);
  return chars.slice(start).join('');
}

/** The text in at most maxBytes of UTF-8, cut between characters, ending in "…" when cut. */
export function cutToBytes(text: string, maxBytes: number): string {
  if (utf8Bytes(text) <= maxBytes) return text;
  const ellipsis = '…';
  let out = '';
  let used = 0;
  for (const char of text) {
    const bytes = utf8Bytes(char);
    if (used + bytes > maxBytes - utf8Bytes(ellipsis)) break;
    out += char;
    used += bytes;
  }
  return maxBytes >= utf8Bytes(ellipsis) ? `${out}${ellipsis}` : '';
}

/** What SNS accepts as a subject: printable ASCII, one line, at most 100 characters. */
export function snsSubject(text: string): string {
  return text
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?')
    .trim()
    .slice(0, MAX_SUBJECT_CHARS);
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { docPages, headingAnchors, withTableOfContents } from '../../../docs/toc.mjs';

/*
 * The README is a landing page and docs/ holds a page a topic: every relative link must
 * land on a file (and a heading, when it names one), every long page has a table of
 * contents, and every `sender-sync …` command the pages show must be one the CLI that
 * users run (the bundle, through bin/sender-sync.mjs) accepts, with options it has.
 */
const ROOT = path.resolve(import.meta.dirname, '../../..');
const PAGES = [path.join(ROOT, 'README.md'), ...docPages()];
const read = (file: string) => readFileSync(file, 'utf8');
const relative = (file: string) => path.relative(ROOT, file);

interface Link {
  page: string;
  target: string;
}

function links(page: string): Link[] {
  const found: Link[] = [];
  const text = read(page).replace(/```[\s\S]*?```/g, '');
  for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) found.push({ page, target: match[1] });
  return found;
}

describe('the docs', () => {
  it('keep the README a landing page of at most 250 lines, linking every page under docs/', () => {
    const readme = read(path.join(ROOT, 'README.md'));
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
    for (const page of docPages()) expect(readme, `README links ${relative(page)}`).toContain(`(docs/${path.basename(page)}`);
  });

  it('link only to files and headings that exist, never outside the repository', () => {
    const broken: string[] = [];
    for (const { page, target } of PAGES.flatMap(links)) {
      if (/^[a-z]+:/i.test(target)) continue;
      const [file, anchor] = target.split('#');
      const resolved = file ? path.resolve(path.dirname(page), file) : page;
      if (!resolved.startsWith(`${ROOT}${path.sep}`)) broken.push(`${relative(page)}: ${target} leaves the repository`);
      else if (!existsSync(resolved)) broken.push(`${relative(page)}: ${target} (no such file)`);
      else if (anchor && resolved.endsWith('.md') && !headingAnchors(read(resolved)).some((h) => h.anchor === anchor))
        broken.push(`${relative(page)}: ${target} (no such heading)`);
    }
    expect(broken).toEqual([]);
    for (const page of PAGES) expect(read(page), relative(page)).not.toMatch(/\.\.\/shared\//);
  });

  it('give every long page a table of contents, as `npm run docs:toc` writes it', () => {
    for (const page of docPages()) {
      const text = read(page);
      if (text.split('\n').length > 60) expect(text, `${relative(page)} has a <!-- toc --> marker`).toContain('<!-- toc -->');
      expect(withTableOfContents(text), `${relative(page)}: run npm run docs:toc`).toBe(text);
    }
  });

  it('say Node.js 22 wherever they name a Node version to install', () => {
    for (const page of PAGES) expect(read(page), relative(page)).not.toMatch(/Node(\.js)? (1\d|20|21)\+/);
  });
});

/** The CLI's commands and their options, read from the bundle's --help as users see it. */
interface CommandSpec {
  options: Map<string, boolean>;
  /** Takes arguments for another program after its own (`psql [psql-args...]`). */
  passthrough: boolean;
  subcommands: Map<string, CommandSpec>;
}

function helpOf(args: string[]): string {
  return execFileSync(process.execPath, [path.join(ROOT, 'bin/sender-sync.mjs'), ...args, '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', DATABASE_URL: '' },
  });
}

function section(help: string, title: string): string[] {
  const lines = help.split('\n');
  const start = lines.findIndex((line) => line.trim() === `${title}:`);
  if (start < 0) return [];
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith(' ')) break;
    body.push(line);
  }
  return body;
}

function readSpec(args: string[]): CommandSpec {
  const help = helpOf(args);
  const options = new Map<string, boolean>();
  for (const line of section(help, 'Options')) {
    for (const match of line.matchAll(/(?:^\s+|, )(-{1,2}[\w-]+)( [<[])?/g)) options.set(match[1], Boolean(match[2]));
  }
  const subcommands = new Map<string, CommandSpec>();
  for (const line of section(help, 'Commands')) {
    const name = /^\s{2}([a-z][\w-]*)/.exec(line)?.[1];
    if (name && name !== 'help') subcommands.set(name, readSpec([...args, name]));
  }
  const passthrough = /^Usage: .*\[[\w-]+\.\.\.\]\s*$/m.test(help);
  return { options, subcommands, passthrough };
}

/** Shell words of a command line: quotes kept together, stops at a pipe, `&&`, `;`, a comment or a redirect. */
function words(line: string): string[] {
  const found: string[] = [];
  for (const match of line.matchAll(/"[^"]*"|'[^']*'|[^\s]+/g)) {
    const word = match[0];
    if (/^(\||&&|;|#|>|2>|\\)$/.test(word) || word.startsWith('#')) break;
    found.push(word);
  }
  return found;
}

/** Every `sender-sync …` the pages show, in code spans and shell blocks. */
function shownCommands(): { page: string; line: string }[] {
  const shown: { page: string; line: string }[] = [];
  for (const page of PAGES) {
    const text = read(page);
    const code = [
      ...[...text.matchAll(/```(?:sh|bash|shell)?\n([\s\S]*?)```/g)].flatMap((block) => block[1].split('\n')),
      ...[...text.replace(/```[\s\S]*?```/g, '').matchAll(/`([^`\n]+)`/g)].map((span) => span[1]),
    ];
    for (const snippet of code.map((line) => line.replace(/\\\|/g, '¦'))) {
      for (const match of snippet.matchAll(/(?:^|[\s(|$])sender-sync ((?!\s)[^|;&]*)/g))
        shown.push({ page: relative(page), line: match[1] });
    }
  }
  return shown;
}

/** What is wrong with one shown command (empty when the CLI accepts its command and options). */
function problems(spec: CommandSpec, line: string): string[] {
  const tokens = words(line.replace(/[[\]]/g, ' '));
  if (!tokens[0] || /^[<…]|^\.\.\./.test(tokens[0])) return [];
  // `workspaces add\|list\|remove` in a table: each alternative is a command of its own.
  const at = tokens.findIndex((token) => token.includes('¦'));
  if (at >= 0) return tokens[at].split('¦').flatMap((alternative) => problems(spec, tokens.with(at, alternative).join(' ')));
  let command = spec;
  let pathShown = '';
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i].replace(/^["']|["']$/g, '');
    if (/^[<…]/.test(token) || token === '...') break;
    if (token.startsWith('-')) {
      const name = token.split('=')[0];
      if (name === '--help' || name === '-h') continue;
      if (command.passthrough && !command.options.has(name)) return [];
      if (!command.options.has(name) && !spec.options.has(name)) return [`${pathShown || '(top)'}: no option ${name}`];
      if (command.options.get(name) && !token.includes('=')) i++;
      continue;
    }
    const sub = command.subcommands.get(token);
    if (sub) {
      command = sub;
      pathShown = `${pathShown} ${token}`.trim();
    } else if (command.subcommands.size > 0 && command === spec) return [`no command ${token}`];
    else if (command.subcommands.size > 0) return [`${pathShown}: no subcommand ${token}`];
  }
  return [];
}

describe('the commands the docs show', () => {
  let cliSpec: CommandSpec;
  beforeAll(() => {
    cliSpec = readSpec([]);
  }, 120_000);

  it('finds the CLI and its commands in the bundle users run', () => {
    expect([...cliSpec.subcommands.keys()]).toEqual(expect.arrayContaining(['run', 'status', 'workspaces', 'webhooks', 'trigger']));
    expect(cliSpec.subcommands.get('changes')?.options.get('--since')).toBe(true);
  });

  it('name only commands and options that exist', () => {
    const shown = shownCommands();
    expect(shown.length).toBeGreaterThan(40);
    const wrong = shown.flatMap(({ page, line }) =>
      problems(cliSpec, line).map((problem) => `${page}: sender-sync ${line.trim()}: ${problem}`),
    );
    expect(wrong).toEqual([]);
  });

  it('catches a command or option that does not exist', () => {
    expect(problems(cliSpec, 'changes --sinse 24h')).toEqual(['changes: no option --sinse']);
    expect(problems(cliSpec, 'workspace list')).toEqual(['no command workspace']);
    expect(problems(cliSpec, 'workspaces ad "Acme"')).toEqual(['workspaces: no subcommand ad']);
    expect(problems(cliSpec, 'workspaces add¦list¦remov')).toEqual(['workspaces: no subcommand remov']);
  });
});

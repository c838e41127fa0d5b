// `npm run docs:toc`: rewrites the table of contents of every page under docs/ that has a
// `<!-- toc -->` marker, from its ## and ### headings. A test fails while one is stale.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const TOC_START = '<!-- toc -->';
export const TOC_END = '<!-- end of toc -->';
export const DOCS_DIR = path.resolve(import.meta.dirname);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function headingAnchors(markdown) {
  const seen = new Map();
  const anchors = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const match = !fenced && /^(#{1,6})\s+(.*?)\s*$/.exec(line);
    if (!match) continue;
    const base = match[2]
      .replace(/`/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.push({ level: match[1].length, text: match[2], anchor: count === 0 ? base : `${base}-${count}` });
  }
  return anchors;
}

export function tableOfContents(markdown) {
  return headingAnchors(markdown)
    .filter((heading) => heading.level === 2 || heading.level === 3)
    .map((heading) => `${heading.level === 3 ? '  ' : ''}- [${heading.text.replace(/`/g, '')}](#${heading.anchor})`)
    .join('\n');
}

/** The page with its table of contents rewritten; unchanged when it has no marker. */
export function withTableOfContents(markdown) {
  const start = markdown.indexOf(TOC_START);
  if (start < 0) return markdown;
  const endAt = markdown.indexOf(TOC_END, start);
  const rest = endAt < 0 ? markdown.slice(start + TOC_START.length) : markdown.slice(endAt + TOC_END.length);
  return `${markdown.slice(0, start)}${TOC_START}\n${tableOfContents(markdown)}\n${TOC_END}${rest}`;
}

export function docPages() {
  return readdirSync(DOCS_DIR)
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join(DOCS_DIR, name));
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  for (const page of docPages()) {
    const text = readFileSync(page, 'utf8');
    const updated = withTableOfContents(text);
    if (updated !== text) {
      writeFileSync(page, updated);
      console.log(`${path.relative(process.cwd(), page)}: table of contents rewritten`);
    }
  }
}

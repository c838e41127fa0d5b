import stringWidth from 'string-width';
import { describe, expect, it } from 'vitest';
import { fitWidth, table, truncateText } from '../../../cli/table';
import { compareNames, formatCount, plural, sortByName } from '../../../cli/words';

describe('tables', () => {
  it('keeps every column aligned when names hold emoji, CJK or combining accents (display width, not code points)', () => {
    const text = table(
      ['workspace', 'accounts', 'status'],
      [
        ['🚀 Rocket Labs', 12, 'synced'],
        ['東京 Sales', 7, 'synced'],
        ['👩‍💻 Dev Team', 3, 'synced'],
        ['Zu\u0308rich Data', 167, 'synced'],
        ['Acme Outbound', 187, 'synced'],
      ],
    );
    const lines = text.split('\n');
    // Each column starts at the same display column on every line: the cells after the name line up.
    const statusColumn = [lines[0], ...lines.slice(2)].map((line) => stringWidth(line.slice(0, line.search(/s(ynced|tatus)$/))));
    expect(new Set(statusColumn).size).toBe(1);
    expect(new Set(lines.map((line) => stringWidth(line))).size).toBe(1);
    expect(lines[1]).toBe(`${'-'.repeat(14)}  --------  ------`);
  });

  it('cuts long text by display width with an ellipsis, never through a character', () => {
    expect(fitWidth('東京東京東京', 7)).toBe('東京東…');
    expect(stringWidth(fitWidth('東京東京東京', 7))).toBe(7);
    expect(fitWidth('👩‍💻👩‍💻👩‍💻', 5)).toBe('👩‍💻👩‍💻…');
    expect(fitWidth('short', 10)).toBe('short');
    expect(truncateText('a'.repeat(100), 70)).toHaveLength(70);
  });
});

describe('names and numbers', () => {
  it('sorts names as a person does: São Paulo before Summit Peak, Zürich among the Zs, Client 9 before Client 10', () => {
    const names = ['Summit Peak SaaS', 'Zürich Data Partners', 'zeta', 'São Paulo Growth Partners', 'Client 10', 'Client 9', 'acme'];
    expect(sortByName(names, (n) => n)).toEqual([
      'acme',
      'Client 9',
      'Client 10',
      'São Paulo Growth Partners',
      'Summit Peak SaaS',
      'zeta',
      'Zürich Data Partners',
    ]);
    // By bytes (the database under the C collation, or a plain sort) "São" comes after "Summit".
    expect(['Summit Peak SaaS', 'São Paulo Growth Partners'].sort()).toEqual(['Summit Peak SaaS', 'São Paulo Growth Partners']);
    expect(compareNames('São Paulo', 'Summit Peak')).toBeLessThan(0);
  });

  it('agrees plurals with their count and groups thousands', () => {
    expect(plural(1, 'account')).toBe('1 account');
    expect(plural(0, 'account')).toBe('0 accounts');
    expect(plural(4228, 'account')).toBe('4,228 accounts');
    expect(plural(1, 'workspace')).toBe('1 workspace');
    expect(plural(26, 'workspace')).toBe('26 workspaces');
    expect(formatCount(1234567)).toBe('1,234,567');
  });
});

/* How the CLI says numbers and names: grouped counts, plurals that agree, names in a person's order. */

const counts = new Intl.NumberFormat('en-US');

/** 4228 -> "4,228". */
export function formatCount(n: number): string {
  return counts.format(n);
}

/** plural(1, 'account') -> "1 account"; plural(4228, 'account') -> "4,228 accounts". */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : nouns}`;
}

/*
 * Names as a person sorts them, not by their UTF-8 bytes (which put "São Paulo" after
 * "Summit Peak" and "zeta" after "Zürich"): one fixed locale, so every machine and the
 * tests agree whatever LANG says; numeric, so "Client 9" comes before "Client 10".
 */
const collator = new Intl.Collator('en', { numeric: true });

export const compareNames: (a: string, b: string) => number = collator.compare;

/** A sorted copy, by the name `nameOf` reads from each item. */
export function sortByName<T>(items: readonly T[], nameOf: (item: T) => string): T[] {
  return [...items].sort((a, b) => compareNames(nameOf(a), nameOf(b)));
}

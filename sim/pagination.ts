import type { RawSenderEmail } from './data';

/** EmailBison serves 15 per page whatever per_page asks for. */
export const PAGE_SIZE = 15;

/**
 * How an instance answers `GET /api/sender-emails` (DESIGN.md, "What changed by late 2026"):
 * - `page`: page mode unless the request says `pagination_type=cursor` (an instance that
 *   supports cursors but still defaults to pages, as one did in September 2026);
 * - `cursor-default`: cursor mode unless the request carries an explicit `page` parameter
 *   (the "reprieve" seen after 2026-08-25); `pagination_type=cursor` wins over `page`;
 * - `cursor-only`: always cursor mode, a `page` parameter is ignored;
 * - `page-only`: always page mode, `pagination_type` is ignored (an instance from before cursors).
 */
export type PaginationMode = 'page' | 'cursor-default' | 'cursor-only' | 'page-only';

export const PAGINATION_MODES: readonly PaginationMode[] = ['page', 'cursor-default', 'cursor-only', 'page-only'];

export type AnswerMode = 'page' | 'cursor';

export function answerMode(instance: PaginationMode, query: URLSearchParams): AnswerMode {
  if (instance === 'page-only') return 'page';
  if (query.get('pagination_type') === 'cursor') return 'cursor';
  if (instance === 'cursor-only') return 'cursor';
  if (instance === 'cursor-default') return query.has('page') ? 'page' : 'cursor';
  return 'page';
}

/** Most instances ignore per_page; where it is honoured, Laravel-style bounds apply (1..100, else 15). */
export const MAX_PER_PAGE = 100;

export function perPageParameter(value: string | null): number {
  const perPage = Number(value);
  return Number.isInteger(perPage) && perPage >= 1 ? Math.min(perPage, MAX_PER_PAGE) : PAGE_SIZE;
}

/** Laravel reads a missing or nonsensical page as page 1. */
export function pageParameter(value: string | null): number {
  const page = Number(value);
  return Number.isInteger(page) && page >= 1 ? page : 1;
}

/**
 * Laravel's paginated resource shape: accounts in ascending id order, `size` a page. The links
 * carry only `page` (a paginator keeps no other query parameter), so they drop `per_page`.
 */
export function pageBody<T extends { id: number }>(accounts: readonly T[], page: number, path: string, size = PAGE_SIZE) {
  const total = accounts.length;
  const lastPage = Math.max(1, Math.ceil(total / size));
  const offset = (page - 1) * size;
  const data = accounts.slice(offset, offset + size);
  return {
    data,
    links: {
      first: `${path}?page=1`,
      last: `${path}?page=${lastPage}`,
      prev: page > 1 ? `${path}?page=${page - 1}` : null,
      next: page < lastPage ? `${path}?page=${page + 1}` : null,
    },
    meta: {
      current_page: page,
      from: data.length > 0 ? offset + 1 : null,
      last_page: lastPage,
      per_page: size,
      to: data.length > 0 ? offset + data.length : null,
      total,
      path,
    },
  };
}

/** Laravel's `Cursor`: the id of the item it points from, and which way it points. */
export interface LaravelCursor {
  id: number;
  pointsToNextItems: boolean;
}

/** As Laravel's `Cursor::encode()`: JSON, base64, then `+/` to `-_` and the `=` padding dropped. */
export function encodeCursor(cursor: LaravelCursor): string {
  const json = JSON.stringify({ id: cursor.id, _pointsToNextItems: cursor.pointsToNextItems });
  return Buffer.from(json, 'utf8').toString('base64').replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '');
}

/**
 * As Laravel's `Cursor::fromEncoded()`: lenient base64, then JSON; anything that is not an
 * object with a boolean `_pointsToNextItems` (and, for this query, a numeric `id`) is no cursor.
 */
export function decodeCursor(encoded: string): LaravelCursor | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(encoded.replaceAll('-', '+').replaceAll('_', '/'), 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const { id, _pointsToNextItems: pointsToNextItems } = parsed as Record<string, unknown>;
  if (typeof pointsToNextItems !== 'boolean') return undefined;
  const numericId = typeof id === 'string' && id.trim() !== '' ? Number(id) : id;
  if (typeof numericId !== 'number' || !Number.isFinite(numericId)) return undefined;
  return { id: numericId, pointsToNextItems };
}

/**
 * One cursor page, as `SenderEmail::orderByDesc('id')->cursorPaginate(15)` wrapped in an API
 * resource answers it: highest id first; `links.first`/`last` null; `links.next`/`prev` carry
 * only `cursor` (Laravel's paginator URL keeps no other query parameter, so `pagination_type`
 * is dropped); `meta` is `{ path, per_page, next_cursor, prev_cursor }`.
 * `accounts` must be sorted by ascending id (the store's order).
 */
export function cursorBody<T extends { id: number }>(
  accounts: readonly T[],
  cursor: LaravelCursor | undefined,
  path: string,
  size = PAGE_SIZE,
) {
  const { items, hasMore } = cursorSlice(accounts, cursor, size);
  const first = items[0];
  const last = items.at(-1);
  // Laravel's AbstractCursorPaginator::nextCursor()/previousCursor(), including the 2022 fix
  // that gives an empty page neither.
  const next =
    !last || (cursor === undefined && !hasMore) || (cursor?.pointsToNextItems === true && !hasMore)
      ? null
      : encodeCursor({ id: last.id, pointsToNextItems: true });
  const prev =
    !first || cursor === undefined || (cursor.pointsToNextItems === false && !hasMore)
      ? null
      : encodeCursor({ id: first.id, pointsToNextItems: false });
  return {
    data: items,
    links: {
      first: null,
      last: null,
      prev: prev === null ? null : `${path}?cursor=${prev}`,
      next: next === null ? null : `${path}?cursor=${next}`,
    },
    meta: { path, per_page: size, next_cursor: next, prev_cursor: prev },
  };
}

/** The items a cursor selects (ids below it going forward, above it going back), newest first. */
function cursorSlice<T extends { id: number }>(accounts: readonly T[], cursor: LaravelCursor | undefined, size: number) {
  if (cursor === undefined || cursor.pointsToNextItems) {
    const below = cursor === undefined ? accounts : accounts.filter((account) => account.id < cursor.id);
    const items = below.slice(-(size + 1)).reverse();
    return { items: items.slice(0, size), hasMore: items.length > size };
  }
  const above = accounts.filter((account) => account.id > cursor.id).slice(0, size + 1);
  return { items: above.slice(0, size).reverse(), hasMore: above.length > size };
}

/** The page a cursor request reads, counted from the top (1 for no cursor): what page faults match on. */
export function cursorPageOrdinal(accounts: readonly RawSenderEmail[], cursor: LaravelCursor | undefined, size = PAGE_SIZE): number {
  if (cursor === undefined) return 1;
  const above = accounts.filter((account) => account.id > cursor.id).length;
  // Going forward the cursor stands for the last item read (gone or not); going back, for the first.
  return cursor.pointsToNextItems ? Math.floor((above + 1) / size) + 1 : Math.max(1, Math.ceil(above / size));
}

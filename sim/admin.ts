import type { IncomingMessage, ServerResponse } from 'node:http';
import { answerMode, cursorBody, decodeCursor, pageBody, pageParameter, type PaginationMode } from './pagination';
import { send, workspaceResource } from './responses';
import type { SimStore } from './store';

/*
 * What a super-admin key can do (DESIGN.md, "Workspaces and keys"): list every workspace of
 * the instance (`GET /api/workspaces/v1.1`, paginated like the other list routes) and mint an
 * api-user key for one (`POST /api/workspaces/v1.1/{team_id}/api-tokens` with `{"name": …}`,
 * answered with `data.plain_text_token`). A minted key reads its workspace alone, like any
 * api-user key. Other routes do not know the super-admin key (401), which keeps the simulated
 * sync from ever reading through it.
 */

/** A key the simulator minted through the api-tokens route: tests check each one was recorded. */
export interface MintedToken {
  workspace: string;
  name: string;
  apiKey: string;
}

/** A failing api-tokens route: after `afterMints` keys have been minted, every next request answers `status`. */
export interface TokenMintFailure {
  afterMints: number;
  status?: number;
}

export const WORKSPACES_PATH = '/api/workspaces/v1.1';
const API_TOKENS = /^\/api\/workspaces\/v1\.1\/([^/]+)\/api-tokens$/;

export class SimAdmin {
  adminKey: string | undefined;
  mintFailure: TokenMintFailure | undefined;
  readonly #minted: MintedToken[] = [];
  #nextTokenId = 100;

  constructor(
    private readonly store: SimStore,
    adminKey: string | undefined,
  ) {
    this.adminKey = adminKey;
  }

  minted(): MintedToken[] {
    return this.#minted.map((token) => ({ ...token }));
  }

  isAdmin(apiKey: string | undefined): boolean {
    return this.adminKey !== undefined && apiKey === this.adminKey;
  }

  /** Answers a super-admin request on its two routes; false for any other route (the caller answers it). */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL, path: string, pagination: PaginationMode): Promise<boolean> {
    const token = API_TOKENS.exec(path);
    if (token) {
      if (req.method !== 'POST') send(res, 405, { message: 'Method Not Allowed' });
      else this.#mint(token[1], await readJson(req), res);
      return true;
    }
    if (path !== WORKSPACES_PATH) return false;
    if (req.method !== 'GET') send(res, 405, { message: 'Method Not Allowed' });
    else this.#list(url, req, res, pagination);
    return true;
  }

  #list(url: URL, req: IncomingMessage, res: ServerResponse, pagination: PaginationMode): void {
    const workspaces = [...this.store.list()].sort((a, b) => a.id - b.id).map(workspaceResource);
    const path = `http://${req.headers.host ?? 'localhost'}${WORKSPACES_PATH}`;
    if (answerMode(pagination, url.searchParams) === 'page') {
      send(res, 200, pageBody(workspaces, pageParameter(url.searchParams.get('page')), path));
      return;
    }
    const raw = url.searchParams.get('cursor');
    send(res, 200, cursorBody(workspaces, raw ? decodeCursor(raw) : undefined, path));
  }

  #mint(teamId: string, body: unknown, res: ServerResponse): void {
    const workspace = /^\d+$/.test(teamId) ? this.store.list().find((w) => w.id === Number(teamId)) : undefined;
    if (!workspace) {
      send(res, 404, { data: { success: false, message: `Workspace ${teamId} not found.`, record_not_found: true } });
      return;
    }
    const name = (body as { name?: unknown } | undefined)?.name;
    if (typeof name !== 'string' || name.trim() === '') {
      const message = 'The name field is required.';
      send(res, 422, { message, errors: { name: [message] } });
      return;
    }
    if (this.mintFailure && this.#minted.length >= this.mintFailure.afterMints) {
      send(res, this.mintFailure.status ?? 500, { message: 'Server Error' });
      return;
    }
    const apiKey = this.store.mintKey(workspace.name);
    this.#minted.push({ workspace: workspace.name, name, apiKey });
    const id = this.#nextTokenId++;
    send(res, 200, {
      data: {
        id,
        name,
        workspace_id: workspace.id,
        abilities: ['api-user'],
        plain_text_token: apiKey,
        created_at: new Date().toISOString(),
      },
    });
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

import type { Sql } from '../db/client';
import { InvalidInputError } from '../errors';
import { installedSchemas } from './catalog';

export interface PricingRule {
  position: number;
  field: 'reseller' | 'provider';
  match: 'equals' | 'contains';
  pattern: string;
  /** Two decimals, as text: numeric stays exact. */
  price: string;
  perDomainMailboxes: boolean;
}

export async function listPricingRules(sql: Sql, schema: string): Promise<PricingRule[]> {
  return sql<PricingRule[]>`
    select position, field, match, pattern, price::text as price, per_domain_mailboxes as "perDomainMailboxes"
    from ${sql(schema)}.compat_pricing_rules order by position
  `;
}

/** Where compat is installed; an error saying to install it when it is not. */
export async function compatSchema(sql: Sql): Promise<string> {
  const [schema] = await installedSchemas(sql);
  if (!schema) throw new InvalidInputError('The dashboard compatibility is not installed: run `sender-sync compat install` first.');
  return schema;
}

export interface RuleChange {
  position: number;
  price?: string;
  field?: 'reseller' | 'provider';
  pattern?: string;
  match?: 'equals' | 'contains';
  perDomainMailboxes?: boolean;
  remove?: boolean;
}

/**
 * Changes one rule: its price, or the whole rule (field and pattern given: created at that
 * position, or replaced), or removes it. email_accounts_view reads the rules at every
 * query: the dashboard's next page load shows the new prices.
 */
export async function setPricingRule(sql: Sql, change: RuleChange): Promise<PricingRule[]> {
  const schema = await compatSchema(sql);
  const table = sql`${sql(schema)}.compat_pricing_rules`;
  if (change.remove) {
    const gone = await sql`delete from ${table} where position = ${change.position} returning position`;
    if (gone.length === 0)
      throw new InvalidInputError(`No pricing rule at position ${change.position}: \`sender-sync compat pricing list\` shows them.`);
    return listPricingRules(sql, schema);
  }
  if (change.field && change.pattern !== undefined) {
    if (change.price === undefined) throw new InvalidInputError('A new or replaced rule needs --price.');
    await sql`
      insert into ${table} (position, field, match, pattern, price, per_domain_mailboxes)
      values (${change.position}, ${change.field}, ${change.match ?? 'equals'}, ${change.pattern}, ${change.price}::numeric, ${change.perDomainMailboxes ?? false})
      on conflict (position) do update set field = excluded.field, match = excluded.match, pattern = excluded.pattern,
        price = excluded.price, per_domain_mailboxes = excluded.per_domain_mailboxes, updated_at = now()
    `;
    return listPricingRules(sql, schema);
  }
  const updated = await sql`
    update ${table} set
      price = coalesce(${change.price ?? null}::numeric, price),
      match = coalesce(${change.match ?? null}, match),
      per_domain_mailboxes = coalesce(${change.perDomainMailboxes ?? null}::boolean, per_domain_mailboxes),
      updated_at = now()
    where position = ${change.position}
    returning position
  `;
  if (updated.length === 0) {
    throw new InvalidInputError(
      `No pricing rule at position ${change.position}: give --reseller or --provider with --price to create one (\`sender-sync compat pricing list\` shows them).`,
    );
  }
  return listPricingRules(sql, schema);
}

/**
 * Sets (or clears, with null) the price set by hand on the account of that email: it wins over
 * the rules. An email in several workspaces needs the workspace named; nothing is changed until then.
 */
export async function setManualPrice(
  sql: Sql,
  target: { email: string; workspace?: string },
  price: string | null,
): Promise<{ workspace: string; email: string; emailbisonId: number; manualPrice: string | null }[]> {
  return sql.begin(async (tx) => {
    const rows = await tx<{ workspace: string; email: string; emailbisonId: string; manualPrice: string | null }[]>`
      update sender_emails se set manual_price = ${price}::numeric
      from workspaces w
      where w.id = se.workspace_id and lower(se.email) = lower(${target.email})
        ${target.workspace === undefined ? tx`` : tx`and w.name = ${target.workspace}`}
      returning w.name as workspace, se.email, se.emailbison_id as "emailbisonId", se.manual_price::text as "manualPrice"
    `;
    if (rows.length === 0) {
      throw new InvalidInputError(
        `No account ${JSON.stringify(target.email)}${target.workspace === undefined ? '' : ` in workspace ${JSON.stringify(target.workspace)}`}; nothing changed.`,
      );
    }
    const workspaces = [...new Set(rows.map((row) => row.workspace))].sort();
    if (workspaces.length > 1) {
      throw new InvalidInputError(
        `${JSON.stringify(target.email)} is in ${workspaces.length} workspaces (${workspaces.map((w) => JSON.stringify(w)).join(', ')}): name one with --workspace; nothing changed.`,
      );
    }
    return rows.map((row) => ({ ...row, emailbisonId: Number(row.emailbisonId) }));
  });
}

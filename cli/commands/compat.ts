import { installCompat } from '../../lambdas/compat/install';
import { compatSchema, listPricingRules, type PricingRule, setManualPrice, setPricingRule } from '../../lambdas/compat/pricing';
import { compatStatus } from '../../lambdas/compat/status';
import { uninstallCompat } from '../../lambdas/compat/uninstall';
import { InvalidInputError, UsageError } from '../../lambdas/errors';
import { withCliContext, withReadContext } from '../context';
import { EXIT, fail, printJson } from '../output';
import { table } from '../table';

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

function schemaOption(schema: string | undefined): string {
  const name = schema ?? 'public';
  if (!SCHEMA_NAME.test(name)) fail(new UsageError(`--schema takes a schema name such as public; got ${JSON.stringify(name)}`));
  return name;
}

export async function installCompatCommand(options: { schema?: string; renameLegacy?: boolean; json?: boolean }): Promise<void> {
  const schema = schemaOption(options.schema);
  try {
    const outcome = await withCliContext(async ({ db, config }) => {
      const result = await installCompat(db.sql, { schema, renameLegacy: options.renameLegacy });
      const status = result.status === 'refused' ? undefined : await compatStatus(db.sql, { schema, jobName: config.jobName });
      return { result, warnings: status?.warnings ?? [] };
    });
    const { result, warnings } = outcome;
    if (options.json) printJson({ ...result, warnings });
    else if (result.status === 'refused') console.error(`sender-sync: compat install refused, nothing changed: ${result.reason}`);
    else {
      for (const r of result.renamed) console.log(`renamed ${r.kind} ${result.schema}.${r.from} to ${result.schema}.${r.to}`);
      console.log(
        result.status === 'unchanged'
          ? `already installed in schema ${result.schema}: nothing changed`
          : `installed in schema ${result.schema}: email_accounts_view, email_accounts_raw, sync_progress, refresh_email_accounts_view()`,
      );
      console.log(`grants: ${result.grants}`);
      for (const warning of warnings) console.error(`warning: ${warning}`);
    }
    if (result.status === 'refused') process.exit(EXIT.partial);
  } catch (error) {
    fail(busy(error) ?? error);
  }
}

/** A lock timeout (55P03): install and uninstall alter sender_emails, which a sync or a webhook was writing. */
function busy(error: unknown): Error | undefined {
  if ((error as { code?: string }).code !== '55P03') return undefined;
  return new InvalidInputError(
    'sender_emails stayed locked by another session (a sync or a webhook writing) for longer than the lock timeout: nothing changed; run it again when no sync runs.',
  );
}

export async function statusCompatCommand(options: { schema?: string; json?: boolean }): Promise<void> {
  const schema = schemaOption(options.schema);
  try {
    await withReadContext(async ({ db, config }) => {
      const status = await db.read((sql) => compatStatus(sql, { schema, jobName: config.jobName }));
      if (options.json) return printJson(status);
      if (!status.installed) console.log(`not installed (looked in schema ${schema}, and for sender-sync's marker in every schema)`);
      else {
        console.log(
          `installed in schema ${status.schema} (version ${status.version}${status.complete ? '' : ', incomplete'}), over the tables in ${status.appSchema}`,
        );
        console.log(
          table(
            ['object', 'kind'],
            status.objects.map((o) => [`${status.schema}.${o.name}`, o.kind]),
          ),
        );
        console.log(`triggers: ${status.triggers.map((t) => `${t.table}.${t.name}`).join(', ')}`);
        console.log(
          `realtime: ${status.realtime.exists ? `sync_progress ${status.realtime.published ? 'is' : 'is not'} in ${status.realtime.publication}` : `no ${status.realtime.publication} publication on this server`}`,
        );
        console.log('pricing rules (first match wins):');
        console.log(pricingTable(status.pricingRules));
      }
      if (status.legacy.length > 0) console.log(`legacy: ${status.legacy.map((o) => `${o.kind} ${schema}.${o.name}`).join(', ')}`);
      console.log(`job name: ${status.jobName.configured} (the dashboard reads ${status.jobName.dashboard})`);
      for (const warning of status.warnings) console.error(`warning: ${warning}`);
    });
  } catch (error) {
    fail(error);
  }
}

export async function uninstallCompatCommand(options: { json?: boolean }): Promise<void> {
  try {
    const result = await withCliContext(({ db }) => uninstallCompat(db.sql));
    if (options.json) return printJson(result);
    if (result.schemas.length === 0) return console.log('not installed: nothing removed');
    for (const line of result.removed) console.log(`removed ${line}`);
    console.log(`uninstalled from schema ${result.schemas.join(', ')}; legacy_* relations and sender-sync's tables are untouched`);
  } catch (error) {
    fail(busy(error) ?? error);
  }
}

function pricingTable(rules: PricingRule[]): string {
  return table(
    ['position', 'when', 'price'],
    rules.map((r) => [
      r.position,
      `${r.field} ${r.match === 'equals' ? 'is' : 'contains'} "${r.pattern}" (any case)`,
      r.perDomainMailboxes ? `${r.price} / mailboxes of the workspace on the domain` : r.price,
    ]),
  );
}

export async function listPricingCommand(options: { json?: boolean }): Promise<void> {
  try {
    await withReadContext(async ({ db }) => {
      const rules = await db.read(async (sql) => listPricingRules(sql, await compatSchema(sql)));
      if (options.json) return printJson({ rules });
      console.log(pricingTable(rules));
      console.log('Otherwise 0.00 (pricing_needs_review when a provider was found); a manual price on an account wins.');
    });
  } catch (error) {
    fail(error);
  }
}

const PRICE = /^\d{1,10}(\.\d{1,2})?$/;

export async function setPricingCommand(options: {
  rule?: string;
  reseller?: string;
  provider?: string;
  match?: string;
  price?: string;
  perDomainMailboxes?: boolean;
  remove?: boolean;
  account?: string;
  workspace?: string;
  json?: boolean;
}): Promise<void> {
  const price = options.price;
  if (price !== undefined && price !== 'none' && !PRICE.test(price)) {
    fail(
      new UsageError(
        `--price takes an amount such as 3.00${options.account ? ' (or none, to clear it)' : ''}; got ${JSON.stringify(price)}`,
      ),
    );
  }
  if ((options.rule === undefined) === (options.account === undefined)) fail(new UsageError('give --rule <position> or --account <email>'));
  if (options.match !== undefined && options.match !== 'equals' && options.match !== 'contains') {
    fail(new UsageError(`--match takes equals or contains; got ${JSON.stringify(options.match)}`));
  }
  try {
    if (options.account !== undefined) {
      if (price === undefined) fail(new UsageError('--account needs --price <amount> (or --price none)'));
      const accounts = await withCliContext(({ db }) =>
        setManualPrice(db.sql, { email: options.account as string, workspace: options.workspace }, price === 'none' ? null : price),
      );
      if (options.json) return printJson({ accounts });
      for (const a of accounts) console.log(`${a.workspace}: ${a.email} manual price ${a.manualPrice ?? 'cleared (the rules price it)'}`);
      return;
    }
    if (!/^\d{1,9}$/.test(options.rule as string))
      fail(new UsageError(`--rule takes a position such as 20; got ${JSON.stringify(options.rule)}`));
    if (options.reseller !== undefined && options.provider !== undefined) fail(new UsageError('give --reseller or --provider, not both'));
    if (price === 'none') fail(new UsageError('a rule needs an amount: --price 0 prices its accounts at 0'));
    const pattern = options.reseller ?? options.provider;
    const rules = await withCliContext(({ db }) =>
      setPricingRule(db.sql, {
        position: Number(options.rule),
        price,
        field: options.reseller !== undefined ? 'reseller' : options.provider !== undefined ? 'provider' : undefined,
        pattern,
        match: options.match as 'equals' | 'contains' | undefined,
        perDomainMailboxes: options.perDomainMailboxes,
        remove: options.remove,
      }),
    );
    if (options.json) return printJson({ rules });
    console.log(pricingTable(rules));
  } catch (error) {
    fail(error);
  }
}

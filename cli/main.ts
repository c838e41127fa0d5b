import { Command, type HelpContext, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { addInstanceMapping, type InstanceMappings } from './instance-labels';
import { invocation, seeHelp } from './invocation';

/*
 * The program: every command, its options and help. cli/entry.ts runs it (the bundle's
 * entry); tests import it to enumerate the commands.
 */

/**
 * Read commands never migrate, never write (read-only transactions) and never create the
 * embedded Postgres; on a database without the schema they say so in one line. One list:
 * cli/context.ts refuses to open the database to write for any of them.
 */
export const READ_COMMANDS = [
  'status',
  'jobs',
  'missing',
  'accounts',
  'changes',
  'health',
  'check-keys',
  'workspaces list',
  'webhooks list',
  'webhooks url',
  'compat status',
  'compat pricing list',
] as const;

/** Commands load their modules when run: `status` need not load the CDK that `run` synthesizes with. */
function lazy<M extends Record<string, unknown>>(load: () => Promise<M>, name: keyof M & string) {
  return async (...args: unknown[]) => ((await load())[name] as (...a: unknown[]) => Promise<void>)(...args);
}

/** A command's help ends with a note (its exit codes, its --json shape) and one example: what a person would type first. */
const example = (line: string, note?: string) => `${note ? `\n${note}` : ''}\nExample:\n  $ ${line}`;

function positiveNumber(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('must be a number > 0.');
  return value;
}

function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError('must be a whole number >= 1.');
  return Number(text);
}

/** `--instance 'Label=https://…'`, repeatable: collected into one map; a bad value is a usage error (64). */
function instanceMapping(text: string, previous: InstanceMappings | undefined): InstanceMappings {
  try {
    return addInstanceMapping(text, previous);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** A group typed without a command (`sender-sync`, `sender-sync workspaces`) shows its help, as gh does: stdout, exit 0. */
class SenderSyncCommand extends Command {
  override createCommand(name?: string): Command {
    return new SenderSyncCommand(name);
  }

  override help(context?: HelpContext): never;
  override help(cb: (text: string) => string): never;
  override help(context?: HelpContext | ((text: string) => string)): never {
    if (typeof context === 'object' && context.error) {
      this.outputHelp();
      process.exit(0);
    }
    return super.help(context as HelpContext);
  }
}

export const program = new SenderSyncCommand()
  .name('sender-sync')
  .version(version, '-V, --version', 'print the version')
  .description(
    'Keep a Postgres copy of every EmailBison sender account.\nDatabase: DATABASE_URL, else the embedded Postgres under .sender-sync/.\n' +
      `Read commands (${READ_COMMANDS.join(', ')}) never migrate or write, and say on stderr which database they read.\n` +
      '--json: one JSON value on stdout, snake_case keys; notes and progress go to stderr.',
  )
  .addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 error, 2 partial (a key not OK for check-keys), 3 failed, 4 another run in progress,\n' +
      '64 usage (an unknown command, option, value or workspace), 130 interrupted.' +
      example('sender-sync run --json | jq .job.status'),
  )
  // Commander exits 1 on a usage error, as a crash would: scripts tell them apart by 64 (EX_USAGE, as gh and dbt).
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 64))
  .hook('preAction', (_program, command) => {
    invocation.path = commandPath(command);
    invocation.readOnly = (READ_COMMANDS as readonly string[]).includes(invocation.path.replace(/^sender-sync /, ''));
  });

program
  .command('run')
  .description('run a full sync through the state machine, on this machine (what `npm start` does)')
  .option('--warmup', "run the daily warmup pass instead: each workspace's warmup figures for the day into sender_email_warmup_daily")
  .option('--day <YYYY-MM-DD>', 'with --warmup: the UTC day to read (default today)')
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option('--scenario <name>', 'simulator scenario when no workspace is registered: seed-2025, seed-2026, grid:N:M', 'seed-2025')
  .option('--latency-ms <ms>', 'simulator latency per request')
  .option('--sim-reject-key <workspace...>', "simulator: reject this workspace's key (401)")
  .option('--sim-port <port>', 'simulator port (default 4010, or a free one)')
  .option('--sim-pagination <mode>', 'simulator: page | cursor-default | cursor-only | page-only (default page)')
  .option('--sim-page-cap <pages>', 'simulator: page mode answers 422 past this page (use cursors)')
  .option(
    '--sim-rate <requests>',
    'simulator: a fixed-window limit of this many requests per window (429 past it); the request cap follows it',
  )
  .option('--sim-rate-window <seconds>', "simulator: the limit's window (default 1)")
  .option('--sim-no-users-route', 'simulator: GET /api/users answers 404 (key bindings cannot be checked)')
  .option('--sim-no-warmup-route', 'simulator: the warmup routes answer 404 (an instance without them)')
  .option('--sim-invalid-cursor <answer>', 'simulator: first-page | reject, for a cursor that does not decode')
  .option('--sim-honour-per-page', 'simulator: honour per_page (up to 100)')
  .option('--sim-unreachable <mode>', 'simulator: hang | refuse, an instance that never answers')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    [
      '',
      'Against the built-in simulator the request cap (EMAILBISON_MAX_RPS) is off, unless EMAILBISON_MAX_RPS is set',
      'or --sim-rate is given (then the cap is the simulated limit): the simulator is not an instance other tools share.',
      'Exit codes: 0 completed, 2 partial, 3 failed, 4 another run in progress, 64 usage (an unknown workspace), 130 interrupted, 1 error.',
      'With --json, progress goes to stderr and stdout holds one JSON value: {status, job, workspaces, execution, running_job_id}.',
      'With --warmup the job is recorded as <JOB_NAME>-warmup (its own lock: it never blocks the sync); `status --warmup` shows it.',
      example('sender-sync run --workspaces "Acme Outbound,Juniper Health"'),
      example('sender-sync run --warmup --day 2026-12-04'),
    ].join('\n'),
  )
  .action(async (options) => {
    (await import('./sim-flags')).checkRunFlags(options);
    // A first line at once (stderr: stdout may be --json): Postgres, the simulator and the runner take a moment to start.
    process.stderr.write(
      `starting: ${process.env.DATABASE_URL ? 'Postgres (DATABASE_URL)' : 'embedded Postgres'}, simulator, state machine…\n`,
    );
    return (await import('./commands/run')).runCommand(options);
  });

const workspaces = program
  .command('workspaces')
  .description('the registry of EmailBison workspaces to sync')
  .addHelpText('after', example('sender-sync workspaces list --all'));
workspaces
  .command('add <name>')
  .description('register (or update) a workspace; the key goes to a secret store, never to Postgres')
  .requiredOption('--base-url <url>', 'the EmailBison instance, e.g. https://send.example.com')
  .option('--api-key-ref <ref>', 'where the key already is: aws-sm:<arn>#<field>, env:<VAR>, file:<field>')
  .option('--api-key-env <var>', 'read the key from this environment variable (else from standard input)')
  .option('--store <store>', 'where to put the key: file (the git-ignored .sender-sync/secrets.json) or aws-sm', 'file')
  .option('--secret-arn <arn>', 'with --store aws-sm: the API-keys secret (default API_KEYS_SECRET_ARN)')
  .option('--emailbison-id <id>', 'the EmailBison workspace id; the key must read that workspace (GET /api/users)')
  .option('--inactive', 'register without syncing it yet')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    "\nThe key's binding is checked before anything is stored: exit 2, nothing stored, when it reads another\nEmailBison workspace than --emailbison-id (or the row) says, or one another active workspace already holds." +
      example('pbpaste | sender-sync workspaces add "Acme Outbound" --base-url https://send.example.com'),
  )
  .action(lazy(() => import('./commands/workspaces'), 'addWorkspaceCommand'));
workspaces
  .command('list')
  .description('list registered workspaces (never their keys)')
  .option('--all', 'include inactive workspaces')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', example('sender-sync workspaces list --all'))
  .action(lazy(() => import('./commands/workspaces'), 'listWorkspacesCommand'));
workspaces
  .command('remove <name>')
  .description('stop syncing a workspace (its accounts and history stay)')
  .addHelpText('after', example('sender-sync workspaces remove "Acme Outbound"'))
  .action(lazy(() => import('./commands/workspaces'), 'removeWorkspaceCommand'));
workspaces
  .command('import [file]')
  .description('register workspaces from a CSV (name,base_url,api_key[,emailbison_workspace_id]) or JSON list')
  .option('--store <store>', 'where to put the keys: file or aws-sm', 'file')
  .option('--secret-arn <arn>', 'with --store aws-sm: the API-keys secret (default API_KEYS_SECRET_ARN)')
  .option('--from-client-registry [database-url]', "instead of a file: the replaced system's client_registry table (default: DATABASE_URL)")
  .option('--clear-plaintext-keys', 'with --from-client-registry: null its plain-text keys once all are imported')
  .option(
    '--instance <label=url>',
    "with --from-client-registry, repeatable: the base URL of a bison_instance label (case and spaces aside), e.g. 'Long Run=https://send.example.com'",
    instanceMapping,
  )
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    '\nWith --from-client-registry, a row whose bison_instance is a label with no --instance is refused (exit 2, nothing\nstored); the label is recorded on the workspace. --json: {imported: [{name, base_url, instance_label, …}], no_key, inactive, …}.' +
      example(
        "sender-sync workspaces import --from-client-registry --instance 'Maverick=https://send.maverick.example' --instance 'Long Run=https://send.longrun.example'",
      ),
  )
  .action(lazy(() => import('./commands/client-registry'), 'importCommand'));
workspaces
  .command('discover')
  .description("list an instance's workspaces with its super-admin key (on standard input) and what would be registered")
  .requiredOption('--base-url <url>', 'the EmailBison instance, e.g. https://send.example.com')
  .option('--admin-key-env <var>', 'read the super-admin key from this environment variable (else from standard input)')
  .option('--mint-keys', 'mint, store and register one api-user key per workspace not yet registered (default: dry run)')
  .option('--store <store>', 'where to put the minted keys: file or aws-sm', 'file')
  .option('--secret-arn <arn>', 'with --store aws-sm: the API-keys secret (default API_KEYS_SECRET_ARN)')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    '\nThe super-admin key is used for this run only: never stored or printed. Exit 1 when a mint fails (every key\nminted before it is stored and registered), 2 when a new key reads another workspace.' +
      example('pbpaste | sender-sync workspaces discover --base-url https://send.example.com --mint-keys'),
  )
  .action(lazy(() => import('./commands/discover'), 'discoverWorkspacesCommand'));

program
  .command('check-keys')
  .description(
    "try each active workspace's API key: OK / rejected / rate limited / unreachable, with account totals and the EmailBison workspace it reads (GET /api/users)",
  )
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    [
      '',
      'Requests are retried as the sync retries them (EMAILBISON_MAX_ATTEMPTS, Retry-After honoured).',
      'Exit codes: 0 every key OK; 2 a key problem: REJECTED, BOUND ELSEWHERE, REFUSED, UNREACHABLE, WRONG URL, NO KEY,',
      "or a key reading another EmailBison workspace than its row records, or the same one as another row's key;",
      '75 (EX_TEMPFAIL) when the only problem is RATE LIMITED (EmailBison kept answering 429): try again later.',
      '--json: {keys: [{workspace, result, accounts, detail, binding, recorded_id, binding_problems}]}.',
    ].join('\n') + example('sender-sync check-keys'),
  )
  .action(lazy(() => import('./commands/check-keys'), 'checkKeysCommand'));

program
  .command('trigger')
  .description('start the deployed state machine (StartExecution) and print its console link')
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option(
    '--wait',
    "follow the execution (DescribeExecution) to its end; the job row too when DATABASE_URL or DATABASE_SECRET_ARN names the stack's database",
  )
  .option('--state-machine-arn <arn>', 'default: STATE_MACHINE_ARN (the stack output); the region is taken from it')
  .option('--interval-seconds <s>', 'how often --wait looks', positiveNumber, 5)
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    '\nWith --wait, exit codes as `run`: 0 completed, 2 partial, 3 failed.\n' +
      '--json: {execution_arn, console_url}; with --wait {execution_arn, console_url, execution, job, workspaces}.' +
      example('sender-sync trigger --wait --state-machine-arn arn:aws:states:eu-west-1:123456789012:stateMachine:sender-sync'),
  )
  .action(lazy(() => import('./commands/trigger'), 'triggerCommand'));

program
  .command('status [job-id]')
  .description('the latest account sync (or given job) with its per-workspace rows and, for AWS runs, the execution status')
  .option('--warmup', 'the latest daily warmup pass instead of the latest account sync')
  .option('--watch', 'refresh until the job ends')
  .option('--interval-seconds <s>', 'how often --watch refreshes', positiveNumber, 2)
  .option('--exit-status', 'exit 2 when the job is partial, 3 when it failed (as `gh run view --exit-status`)')
  .option('--json', 'print the result as JSON (with --watch: once, when the job ends)')
  .addHelpText('after', example('sender-sync status --exit-status', '--json: {job, workspaces, execution}.'))
  .action(lazy(() => import('./commands/reports'), 'statusCommand'));

program
  .command('jobs')
  .description('recent jobs (account syncs and warmup passes), newest first: id, pass, started, status, workspaces, accounts')
  .option('--limit <n>', 'how many jobs', wholeNumber, 10)
  .option('--json', 'print the result as JSON')
  .addHelpText('after', example('sender-sync jobs --limit 5', '--json: {jobs: [...]}, each as `status --json` prints its job.'))
  .action(lazy(() => import('./commands/reports'), 'jobsCommand'));

program
  .command('missing')
  .description('active workspaces with no live accounts, with their last error')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    example('sender-sync missing', '--json: {workspaces: [{name, removed_accounts, last_status, last_error, last_synced_at}]}.'),
  )
  .action(lazy(() => import('./commands/reports'), 'missingCommand'));

program
  .command('accounts')
  .description('per workspace: live and removed accounts, last synced, last job status; totals')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    '\n--json: {workspaces: [{name, live, removed, last_synced_at, last_status}], totals: {workspaces, live, removed}}.' +
      example('sender-sync accounts --json'),
  )
  .action(lazy(() => import('./commands/reports'), 'accountsCommand'));

const webhooks = program
  .command('webhooks')
  .description('EmailBison webhooks: account status within a minute, between syncs')
  .addHelpText('after', example('sender-sync webhooks list'));
webhooks
  .command('register')
  .description(
    "create or update each workspace's EmailBison subscription (/api/webhook-url), with its own URL, to the eight account events",
  )
  .option('--url <url>', 'the receiver base URL: the stack output WebhooksReceiverUrl…, or the address `webhooks serve` prints')
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    "\nEach workspace's subscription posts to its own URL (what `webhooks url` prints); its token derives from the\nstack's webhook secret (WEBHOOK_SECRET_ARN) or the local one, and is never printed here. Idempotent.\nExit 2 when a workspace failed." +
      example('sender-sync webhooks register --url https://abc.lambda-url.eu-west-1.on.aws'),
  )
  .action(lazy(() => import('./commands/webhooks'), 'registerWebhooksCommand'));
webhooks
  .command('url')
  .description("print each workspace's delivery URL, its token included (on standard output only)")
  .option('--base <url>', 'the receiver base URL: the stack output WebhooksReceiverUrl…, or the address `webhooks serve` prints')
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option('--json', 'print [{name, url}] as JSON')
  .addHelpText(
    'after',
    "\nThe URL is <base>/emailbison/<workspace id>/<EmailBison workspace id>/<token>; each workspace's token opens its path only.\nExit 2 when a workspace has no recorded EmailBison workspace id (run check-keys)." +
      example('sender-sync webhooks url --base http://127.0.0.1:4011 --workspaces "Acme Outbound" --json'),
  )
  .action(lazy(() => import('./commands/webhooks'), 'urlWebhooksCommand'));
webhooks
  .command('list')
  .description("each workspace's EmailBison webhook subscriptions (the token hidden)")
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', example('sender-sync webhooks list --workspaces "Acme Outbound"'))
  .action(lazy(() => import('./commands/webhooks'), 'listWebhooksCommand'));
webhooks
  .command('serve')
  .description('run the webhook receiver on this machine; prints its base URL and the `sender-sync webhooks url --base …` command')
  .option('--port <port>', 'port to listen on (0: any free one)', '4011')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .addHelpText('after', example('sender-sync webhooks serve --port 0'))
  .action(lazy(() => import('./commands/webhooks'), 'serveWebhooksCommand'));

program
  .command('changes')
  .description('what changed on the sender accounts (status, removed, daily limit, warmup, tags, added), newest first; read-only')
  .option('--since <when>', 'how far back: 30m, 24h, 7d, or a time such as 2026-12-05T03:00:00Z (what a digest names)', '24h')
  .option('--workspaces <names>', 'comma-separated workspace names (default: all)')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', example('sender-sync changes --since 7d --workspaces "Acme Outbound"'))
  .action(lazy(() => import('./commands/changes'), 'changesCommand'));

const compat = program
  .command('compat')
  .description("the replaced system's dashboard reads sender-sync: its relations (email_accounts_view, …) over sender-sync's tables")
  .addHelpText('after', example('sender-sync compat status'));
compat
  .command('install')
  .description(
    "create email_accounts_raw, email_accounts_view, sync_progress and refresh_email_accounts_view() in the dashboard's schema (idempotent)",
  )
  .option('--schema <name>', 'the schema the dashboard reads', 'public')
  .option('--rename-legacy', "rename relations of those names that are not sender-sync's to legacy_<name> first (their data kept)")
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    "\nOne transaction: all or nothing. Exit 2, nothing changed, when relations of those names are not sender-sync's\n" +
      '(each named) and --rename-legacy is not given. --json: {status, schema, app_schema, renamed, grants, warnings}.' +
      example('sender-sync compat install --rename-legacy'),
  )
  .action(lazy(() => import('./commands/compat'), 'installCompatCommand'));
compat
  .command('status')
  .description('what compat has installed and where, the pricing rules, Realtime, and whether JOB_NAME is the one the dashboard reads')
  .option('--schema <name>', 'where to look when nothing is installed', 'public')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    '\n--json: {installed, complete, schema, objects, triggers, legacy, pricing_rules, realtime, job_name, warnings}.' +
      example('sender-sync compat status --json'),
  )
  .action(lazy(() => import('./commands/compat'), 'statusCompatCommand'));
compat
  .command('uninstall')
  .description("remove what compat install created (never legacy_* relations, never sender-sync's tables)")
  .option('--json', 'print the result as JSON')
  .addHelpText('after', example('sender-sync compat uninstall'))
  .action(lazy(() => import('./commands/compat'), 'uninstallCompatCommand'));
const pricing = compat
  .command('pricing')
  .description('the price rules of email_accounts_view (a table), and prices set by hand on accounts')
  .addHelpText('after', example('sender-sync compat pricing list'));
pricing
  .command('list')
  .description('the price rules, first match wins')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    example('sender-sync compat pricing list --json', '--json: {rules: [{position, field, match, pattern, price, per_domain_mailboxes}]}.'),
  )
  .action(lazy(() => import('./commands/compat'), 'listPricingCommand'));
pricing
  .command('set')
  .description("change a rule's price, add or replace a rule, remove one, or set an account's price by hand")
  .option('--rule <position>', 'the rule at this position (compat pricing list)')
  .option('--reseller <pattern>', "with --rule: the rule matches the account's reseller (any case)")
  .option('--provider <pattern>', "with --rule: the rule matches the account's email provider (any case)")
  .option('--match <how>', 'with --reseller/--provider: equals or contains (default equals)')
  .option('--per-domain-mailboxes', "with --rule: the price is divided by the workspace's mailboxes on the account's domain")
  .option('--remove', 'with --rule: remove the rule')
  .option('--account <email>', "set the account's own price (sender_emails.manual_price): it wins over the rules")
  .option('--workspace <name>', 'with --account: the workspace, when the email is in several')
  .option('--price <amount>', 'the price, e.g. 3.00 (with --account, none clears it)')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    '\nRules are tried by position; the first whose pattern matches prices the account. --json: {rules} or {accounts}.' +
      example('sender-sync compat pricing set --rule 20 --price 3.50'),
  )
  .action(lazy(() => import('./commands/compat'), 'setPricingCommand'));

program
  .command('health')
  .description(
    'per workspace: connected, disconnected and warmup-off accounts, capacity (daily limits), median warmup score, alerts and worst accounts; read-only',
  )
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    [
      '',
      'Capacity: daily_limit summed over connected accounts, all of them and those with warmup off or finished (warmup_enabled false or unknown).',
      "Warmup figures are each workspace's latest day with warmup rows; alerts compare it with each account's previous day",
      '(WARMUP_SCORE_DROP_POINTS, WARMUP_SCORE_FLOOR).',
      '--json: {thresholds, workspaces: [{workspace, connected, disconnected, warmup_disabled, disabled_for_bouncing,',
      '  capacity: {ready, connected}, warmup_day, median_score, worst, alerts, alerts_not_listed}], totals}.',
    ].join('\n') + example('sender-sync health --workspaces "Acme Outbound" --json'),
  )
  .action(lazy(() => import('./commands/health'), 'healthCommand'));

program
  .command('migrate')
  .description('apply the SQL migrations')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', example('DATABASE_URL=postgres://… sender-sync migrate', '--json: {applied: [...], already_applied}.'))
  .action(lazy(() => import('./commands/migrate'), 'migrateCommand'));

program
  .command('psql')
  .description('open psql on the database the CLI reads: DATABASE_URL, else the embedded Postgres (read commands never write; psql can)')
  .argument('[psql-args...]', 'passed to psql after the connection, e.g. -c "select 1"')
  .allowUnknownOption()
  .addHelpText(
    'after',
    '\nNeeds the psql client (apt-get install postgresql-client). The embedded Postgres is stopped when psql exits,\nunless a run is using it.' +
      example(`sender-sync psql -c "select status, total_accounts_synced from polling_job_status order by started_at desc limit 3"`),
  )
  .action(lazy(() => import('./commands/psql'), 'psqlCommand'));

/** Every command of the program, groups too, depth first. */
export function allCommands(command: Command = program): Command[] {
  return command.commands.flatMap((sub) => [sub, ...allCommands(sub)]);
}

/** `sender-sync workspaces add`: the words a person types. */
export function commandPath(command: Command): string {
  return command.parent ? `${commandPath(command.parent)} ${command.name()}` : command.name();
}

/**
 * A usage error is one line and where the help is (the whole help after it was 40-odd lines
 * the error scrolled away in): `sender-sync: unknown option '--colour' (did you mean --color?)`.
 */
function usageError(message: string, command: Command): string {
  const line = message
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*\(Did you mean (.*)\)$/s, ' (did you mean $1)')
    .replace(/\s+/g, ' ');
  return `sender-sync: ${line}\n${seeHelp(commandPath(command))}\n`;
}

for (const command of [program, ...allCommands()]) {
  command.configureOutput({ outputError: (message, write) => write(usageError(message, command)) });
}

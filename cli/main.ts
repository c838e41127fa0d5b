import { Command } from 'commander';

/** Commands load their modules when run: `status` need not load the CDK that `run` synthesizes with. */
function lazy<M extends Record<string, unknown>>(load: () => Promise<M>, name: keyof M & string) {
  return async (...args: unknown[]) => ((await load())[name] as (...a: unknown[]) => Promise<void>)(...args);
}

// `sender-sync status | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command()
  .name('sender-sync')
  .description(
    'Keep a Postgres copy of every EmailBison sender account.\nDatabase: DATABASE_URL, else the embedded Postgres under .sender-sync/.',
  )
  .showHelpAfterError();

program
  .command('run')
  .description('run a full sync through the state machine, on this machine (what `npm start` does)')
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
      'Exit codes: 0 completed, 2 partial, 3 failed, 4 another run in progress, 130 interrupted, 1 error.',
    ].join('\n'),
  )
  .action(lazy(() => import('./commands/run'), 'runCommand'));

const workspaces = program.command('workspaces').description('the registry of EmailBison workspaces to sync');
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
    "\nThe key's binding is checked before anything is stored: exit 2, nothing stored, when it reads another\nEmailBison workspace than --emailbison-id (or the row) says, or one another active workspace already holds.",
  )
  .action(lazy(() => import('./commands/workspaces'), 'addWorkspaceCommand'));
workspaces
  .command('list')
  .description('list registered workspaces (never their keys)')
  .option('--all', 'include inactive workspaces')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./commands/workspaces'), 'listWorkspacesCommand'));
workspaces
  .command('remove <name>')
  .description('stop syncing a workspace (its accounts and history stay)')
  .action(lazy(() => import('./commands/workspaces'), 'removeWorkspaceCommand'));
workspaces
  .command('import <file>')
  .description('register workspaces from a CSV (name,base_url,api_key[,emailbison_workspace_id]) or JSON list')
  .option('--store <store>', 'where to put the keys: file or aws-sm', 'file')
  .option('--secret-arn <arn>', 'with --store aws-sm: the API-keys secret (default API_KEYS_SECRET_ARN)')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./commands/workspaces'), 'importWorkspacesCommand'));

program
  .command('check-keys')
  .description(
    "try each active workspace's API key once: OK / rejected / unreachable, with account totals and the EmailBison workspace it reads (GET /api/users)",
  )
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    "\nExit code 2 when any key is not OK, reads another EmailBison workspace than its row records, or reads the same one as another row's key.",
  )
  .action(lazy(() => import('./commands/check-keys'), 'checkKeysCommand'));

program
  .command('trigger')
  .description('start the deployed state machine (StartExecution) and print its console link')
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option('--wait', 'follow the execution to its end, with progress from the job tables')
  .option('--state-machine-arn <arn>', 'default: STATE_MACHINE_ARN (the stack output)')
  .option('--interval-seconds <s>', 'how often --wait looks', '5')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./commands/trigger'), 'triggerCommand'));

program
  .command('status [job-id]')
  .description('the latest (or given) job with its per-workspace rows and, for AWS runs, the execution status')
  .option('--watch', 'refresh until the job ends')
  .option('--interval-seconds <s>', 'how often --watch refreshes', '2')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./commands/reports'), 'statusCommand'));

program
  .command('missing')
  .description('active workspaces with no live accounts, with their last error')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./commands/reports'), 'missingCommand'));

program
  .command('accounts')
  .description('per workspace: live and removed accounts, last synced, last job status; totals')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./commands/reports'), 'accountsCommand'));

const webhooks = program.command('webhooks').description('EmailBison webhooks: account status within a minute, between syncs');
webhooks
  .command('register')
  .description("create or update each workspace's EmailBison subscription (/api/webhook-url) to the eight account events")
  .option('--url <url>', 'the receiver base URL: the stack output WebhooksReceiverUrl…, or the address `webhooks serve` prints')
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option('--json', 'print the result as JSON')
  .addHelpText(
    'after',
    "\nEach subscription posts to <url>/emailbison/<token>/<workspace id>; the token is the stack's secret\n(WEBHOOK_TOKEN_SECRET_ARN) or the local one, and is never printed. Idempotent. Exit 2 when a workspace failed.",
  )
  .action(lazy(() => import('./commands/webhooks'), 'registerWebhooksCommand'));
webhooks
  .command('list')
  .description("each workspace's EmailBison webhook subscriptions (the token hidden)")
  .option('--workspaces <names>', 'comma-separated workspace names (default: every active workspace)')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./commands/webhooks'), 'listWebhooksCommand'));
webhooks
  .command('serve')
  .description(
    'run the webhook receiver on this machine; prints http://127.0.0.1:<port>/emailbison/<token> (the token on this terminal only)',
  )
  .option('--port <port>', 'port to listen on (0: any free one)', '4011')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .action(lazy(() => import('./commands/webhooks'), 'serveWebhooksCommand'));

program
  .command('migrate')
  .description('apply the SQL migrations')
  .option('--json', 'print the result as JSON')
  .action(lazy(() => import('./commands/migrate'), 'migrateCommand'));

await program.parseAsync(process.argv);

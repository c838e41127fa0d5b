import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { TaskLog } from '../../lambdas/runtime/deps';
import { InvalidInputError, UsageError, describeError, redactSecrets } from '../../lambdas/errors';
import { awsClientOptions } from '../../lambdas/runtime/aws-sdk';
import { createSql, sslModeFromUrl } from '../../lambdas/db/client';
import { DATABASE_PARTS } from '../../lambdas/config/settings';
import { partTimeouts } from '../../lambdas/db/part';
import { createWebhookApplier } from '../../lambdas/webhook-applier/applier';
import { createWebhookReceiver } from '../../lambdas/webhook-receiver/receive';
import { startLocalReceiver } from '../../lambdas/webhook-receiver/node-server';
import type { ChangesPublisher } from '../../lambdas/webhooks/publish';
import { ensureSubscription, listSubscriptions, SUBSCRIPTION_NAME, type EnsureOutcome } from '../../lambdas/webhooks/subscriptions';
import { deliveryUrl, maskWebhookUrl } from '../../lambdas/webhooks/token';
import { listWorkspaces, type Workspace } from '../../lambdas/workspaces/registry';
import { startLocalIntake, type LocalIntake } from '../../local/intake-queue';
import { requireSimulator } from '../../local/simulator-workspaces';
import { ensureLocalWebhookSecret, localWebhookSecretFile, readLocalWebhookSecret } from '../../local/webhook-secret';
import { openCliContext, withCliContext, withReadContext, type CliContext } from '../context';
import { EXIT, fail, printJson } from '../output';
import { table } from '../table';
import { terminalJson, visible, visibleLines } from '../terminal-text';

/**
 * The deployment's webhook master secret: the stack's own secret (WEBHOOK_SECRET_ARN), or
 * the local one (a file beside the local secrets file, never a field of it:
 * local/webhook-secret.ts). Only `webhooks serve` creates the local one: a command that
 * printed or registered URLs from a secret made up on the spot would send EmailBison to
 * paths no receiver opens.
 */
export async function webhookSecret(context: CliContext, options: { create: boolean }): Promise<string> {
  if (context.config.webhookSecretArn) {
    return context.secrets.resolve(`aws-sm:${context.config.webhookSecretArn}`, 'webhook secret');
  }
  const file = localWebhookSecretFile(context.secretsFile);
  if (!options.create) {
    const existing = await readLocalWebhookSecret(file);
    if (existing) return existing;
    throw new InvalidInputError(
      'No webhook secret: set WEBHOOK_SECRET_ARN (the stack output WebhooksSecretArn…), or run `sender-sync webhooks serve` once to create the local one.',
    );
  }
  const { secret, created } = await ensureLocalWebhookSecret(file);
  if (created) console.error(`created the local webhook secret ${file}`);
  return secret;
}

/** A workspace's delivery URL, or why it has none (its key's EmailBison workspace was never recorded). */
function workspaceUrl(base: string, secret: string, workspace: Workspace): { url: string } | { problem: string } {
  if (workspace.emailbisonWorkspaceId === null) {
    return {
      problem: `workspace "${workspace.name}" records no EmailBison workspace id: run \`sender-sync check-keys\` first (its URL names that id)`,
    };
  }
  return { url: deliveryUrl(base, secret, { workspaceId: workspace.id, emailbisonWorkspaceId: workspace.emailbisonWorkspaceId }) };
}

/** The receiver's base URL of a flag (a URL with a path of /emailbison/… is cut back to its base); a UsageError when it is none. */
function receiverBase(flag: string, value: string | undefined): string {
  if (!value || !/^https?:\/\/[^\s]+$/i.test(value)) {
    throw new UsageError(
      `webhooks needs ${flag} <receiver base URL> (the stack output WebhooksReceiverUrl…, or the address \`webhooks serve\` prints).`,
    );
  }
  return value.replace(/\/+$/, '').replace(/\/emailbison(\/.*)?$/, '');
}

/** `webhooks url`: each workspace's delivery URL, token included, on standard output only. */
export async function urlWebhooksCommand(options: { base?: string; workspaces?: string; json?: boolean }): Promise<void> {
  await withReadContext(async (context) => {
    // Checked once the database is known to hold the schema, as every read command does first.
    const base = receiverBase('--base', options.base);
    const secret = await webhookSecret(context, { create: false });
    // No EmailBison request: the URLs come from the secret and the ids Postgres records.
    const rows = (await chosenWorkspaces(context, options.workspaces, { needsEmailBison: false })).map((workspace) => ({
      name: workspace.name,
      ...workspaceUrl(base, secret, workspace),
    }));
    for (const row of rows) if ('problem' in row) console.error(`sender-sync: ${row.problem}`);
    if (options.json) printJson(rows.map((row) => ({ name: row.name, url: 'url' in row ? row.url : null })));
    else for (const row of rows) if ('url' in row) console.log(`${visible(row.name)}\t${row.url}`);
    if (rows.some((row) => 'problem' in row)) process.exitCode = EXIT.partial;
  }).catch(fail);
}

export interface RegisterOptions {
  url?: string;
  workspaces?: string;
  json?: boolean;
}

export async function registerWebhooksCommand(options: RegisterOptions): Promise<void> {
  let base: string;
  try {
    base = receiverBase('--url', options.url);
  } catch (error) {
    fail(error);
  }
  await withCliContext(async (context) => {
    const secret = await webhookSecret(context, { create: false });
    const workspaces = await chosenWorkspaces(context, options.workspaces);
    const results: { workspace: Workspace; url?: string; result?: EnsureOutcome; error?: string }[] = [];
    for (const workspace of workspaces) {
      const made = workspaceUrl(base, secret, workspace);
      if ('problem' in made) {
        results.push({ workspace, error: made.problem });
        continue;
      }
      try {
        const apiKey = await context.secrets.resolve(workspace.apiKeyRef, `API key of workspace "${workspace.name}"`);
        results.push({
          workspace,
          url: made.url,
          result: await ensureSubscription({ workspace: workspace.name, baseUrl: workspace.baseUrl, apiKey }, made.url),
        });
      } catch (error) {
        results.push({ workspace, url: made.url, error: redactSecrets(describeError(error), [secret, made.url]) });
      }
    }
    const rows = results.map(({ workspace, url, result, error }) => ({
      workspace: workspace.name,
      workspace_id: workspace.id,
      outcome: result?.outcome ?? 'failed',
      subscription_id: result?.subscription.id ?? null,
      url: url ? maskWebhookUrl(url) : null,
      events: result?.subscription.events.length ?? null,
      error: error ?? null,
    }));
    if (options.json) printJson({ registered: rows });
    else {
      console.log(
        table(
          ['workspace', 'id', 'subscription', 'outcome', 'url (token hidden)', 'error'],
          rows.map((r) => [r.workspace, r.workspace_id, r.subscription_id, r.outcome, r.url, r.error]),
        ),
      );
    }
    if (rows.some((r) => r.error)) process.exitCode = EXIT.partial;
  }).catch(fail);
}

export async function listWebhooksCommand(options: { workspaces?: string; json?: boolean }): Promise<void> {
  await withReadContext(async (context) => {
    const secret = await webhookSecret(context, { create: false }).catch(() => undefined);
    const rows: Record<string, unknown>[] = [];
    for (const workspace of await chosenWorkspaces(context, options.workspaces)) {
      try {
        const apiKey = await context.secrets.resolve(workspace.apiKeyRef, `API key of workspace "${workspace.name}"`);
        const subscriptions = await listSubscriptions({ workspace: workspace.name, baseUrl: workspace.baseUrl, apiKey });
        if (subscriptions.length === 0)
          rows.push({ workspace: workspace.name, subscription_id: null, name: null, url: null, events: [], error: null });
        for (const s of subscriptions) {
          rows.push({
            workspace: workspace.name,
            subscription_id: s.id,
            name: s.name,
            url: maskWebhookUrl(secret ? redactSecrets(s.url, [secret]) : s.url),
            events: s.events,
            ours: s.name === SUBSCRIPTION_NAME,
            error: null,
          });
        }
      } catch (error) {
        const text = describeError(error);
        rows.push({
          workspace: workspace.name,
          subscription_id: null,
          name: null,
          url: null,
          events: [],
          error: secret ? redactSecrets(text, [secret]) : text,
        });
      }
    }
    if (options.json) return printJson({ subscriptions: rows });
    console.log(
      table(
        ['workspace', 'subscription', 'name', 'events', 'url (token hidden)', 'error'],
        rows.map((r) => [
          r.workspace as string,
          r.subscription_id as number | null,
          r.name as string | null,
          (r.events as string[]).length || '',
          r.url as string | null,
          r.error as string | null,
        ]),
      ),
    );
    if (rows.some((r) => r.error)) process.exitCode = EXIT.partial;
  }).catch(fail);
}

/** Postgres connections of `webhooks serve`'s applier: its two workers, and one to spare. */
export const SERVE_CONNECTIONS = 3;
const SERVE_WORKERS = 2;

export async function serveWebhooksCommand(options: { port?: string; host?: string }): Promise<void> {
  const port = options.port === undefined ? 4011 : Number(options.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) fail(new UsageError(`--port must be a port number, got "${options.port}".`));
  try {
    const context = await openCliContext(process.env, { part: 'webhook', maxConnections: 3 });
    const secret = await webhookSecret(context, { create: true });
    const log = stderrLog(context.config.logLevel);
    // The applier's own pool, bounded; the context's (migrations, the workspaces check) is ended once started.
    const sql = createSql({
      url: context.db.url,
      ssl: sslModeFromUrl(context.db.url),
      max: SERVE_CONNECTIONS,
      applicationName: DATABASE_PARTS.webhook.applicationName,
      timeouts: partTimeouts(context.config, 'webhook'),
    });
    let intake: LocalIntake | undefined;
    const applier = createWebhookApplier({
      sql,
      log,
      publisher: changesPublisher(context.config.changesTopicArn),
      timing: { gatherSeconds: context.config.webhookDigestGatherSeconds },
      scheduleTick: (workspaceId, delaySeconds) => intake!.queue.send({ kind: 'tick', workspaceId }, { delaySeconds }),
    });
    intake = startLocalIntake(applier, { log, workers: SERVE_WORKERS });
    const server = await startLocalReceiver(createWebhookReceiver({ webhookSecret: async () => secret, queue: intake.queue, log }), {
      port,
      host: options.host,
    });
    // The base URL only: each workspace's URL (its token included) is what `webhooks url` prints.
    console.log(server.url);
    console.log(`sender-sync webhooks url --base ${server.url}`);
    // Nothing delivers to it from simulated workspaces while their simulator is down: say so, and serve anyway.
    await requireSimulator(await listWorkspaces(context.db.sql, { activeOnly: true })).catch((error: Error) =>
      console.error(error.message),
    );
    await context.db.sql.end({ timeout: 5 });
    console.error(
      `webhook receiver listening (database ${context.db.embedded ? 'embedded' : 'DATABASE_URL'}); the command above prints each workspace's delivery URL, \`webhooks register --url ${server.url}\` subscribes them. Deliveries are accepted at once and applied in the background (${SERVE_CONNECTIONS} database connections at most). Ctrl-C to stop: what was accepted is applied first`,
    );
    let stopping = false;
    const stop = () => {
      if (stopping) {
        const { queued, applying } = intake!.stats();
        console.error(
          `stopped before applying ${queued} queued deliveries (${applying} batches were running): EmailBison's retries or the next sync bring them`,
        );
        process.exit(1);
      }
      stopping = true;
      const { queued, applying } = intake!.stats();
      console.error(
        `stopping: no new deliveries; applying the ${queued} queued (and ${applying} running batches) first (Ctrl-C again to stop now)`,
      );
      server
        .close()
        .then(() => intake!.drain())
        .then(() => intake!.close())
        .then(() => sql.end({ timeout: 5 }))
        .then(() => context.db.close())
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (error) {
    fail(error);
  }
}

async function chosenWorkspaces(
  context: CliContext,
  names: string | undefined,
  options: { needsEmailBison: boolean } = { needsEmailBison: true },
): Promise<Workspace[]> {
  const all = await listWorkspaces(context.db.sql, { activeOnly: true });
  const reachable = async (chosen: Workspace[]) => {
    if (options.needsEmailBison) await requireSimulator(chosen);
    return chosen;
  };
  if (!names) return reachable(all);
  const wanted = names
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = wanted.filter((name) => !all.some((w) => w.name === name));
  if (unknown.length > 0) throw new UsageError(`No active workspace named ${unknown.map((n) => `"${n}"`).join(', ')}.`);
  return reachable(all.filter((w) => wanted.includes(w.name)));
}

/** The ChangesTopic when CHANGES_TOPIC_ARN is set; otherwise the message is shown on standard error. */
function changesPublisher(topicArn: string | undefined): ChangesPublisher {
  if (!topicArn) {
    return {
      async publish(message) {
        console.error(visibleLines(`[changes] ${message.subject}\n${message.text}`));
      },
    };
  }
  const sns = new SNSClient(awsClientOptions());
  return {
    async publish(message) {
      await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: message.subject, Message: message.text }));
    },
  };
}

const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'];

function stderrLog(level: string): TaskLog {
  const at = LEVELS.indexOf(level);
  const line = (name: string) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVELS.indexOf(name) >= at) console.error(`${new Date().toISOString()} ${name} ${visible(message)} ${terminalJson(fields ?? {})}`);
  };
  return { info: line('INFO'), warn: line('WARN'), error: line('ERROR'), setContext() {} };
}

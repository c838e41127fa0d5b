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
import { maskWebhookUrl, newWebhookToken } from '../../lambdas/webhooks/token';
import { listWorkspaces, type Workspace } from '../../lambdas/workspaces/registry';
import { startLocalIntake, type LocalIntake } from '../../local/intake-queue';
import { readLocalSecrets, writeLocalSecrets } from '../../local/secrets-file';
import { requireSimulator } from '../../local/simulator-workspaces';
import { openCliContext, withCliContext, withReadContext, type CliContext } from '../context';
import { EXIT, fail, printJson } from '../output';
import { table } from '../table';
import { terminalJson, visible, visibleLines } from '../terminal-text';

/** The local secrets file's field holding the token `webhooks serve` checks (when WEBHOOK_TOKEN_SECRET_ARN is not set). */
export const LOCAL_TOKEN_FIELD = 'webhook-token';

/** The deployment's token (the stack's secret), or the local one, created on first use. */
export async function webhookToken(context: CliContext, options: { create: boolean }): Promise<string> {
  if (context.config.webhookTokenSecretArn) {
    return context.secrets.resolve(`aws-sm:${context.config.webhookTokenSecretArn}`, 'webhook token');
  }
  const existing = (await readLocalSecrets(context.secretsFile))[LOCAL_TOKEN_FIELD];
  if (existing) return existing;
  if (!options.create) {
    throw new InvalidInputError(
      'No webhook token: set WEBHOOK_TOKEN_SECRET_ARN (the stack output WebhooksTokenSecretArn…), or run `webhooks serve` once to create a local one.',
    );
  }
  const token = newWebhookToken();
  await writeLocalSecrets(context.secretsFile, { [LOCAL_TOKEN_FIELD]: token });
  console.error(`created a local webhook token in ${context.secretsFile} (field "${LOCAL_TOKEN_FIELD}")`);
  return token;
}

export interface RegisterOptions {
  url?: string;
  workspaces?: string;
  json?: boolean;
}

export async function registerWebhooksCommand(options: RegisterOptions): Promise<void> {
  if (!options.url || !/^https?:\/\/[^\s]+$/i.test(options.url)) {
    fail(
      new UsageError(
        'webhooks register needs --url <receiver base URL> (the stack output WebhooksReceiverUrl…, or the address `webhooks serve` prints).',
      ),
    );
  }
  await withCliContext(async (context) => {
    const workspaces = await chosenWorkspaces(context, options.workspaces);
    const token = await webhookToken(context, { create: true });
    const base = options.url!.replace(/\/+$/, '').replace(/\/emailbison(\/.*)?$/, '');
    const results: { workspace: Workspace; result?: EnsureOutcome; error?: string }[] = [];
    for (const workspace of workspaces) {
      const url = `${base}/emailbison/${token}/${workspace.id}`;
      try {
        const apiKey = await context.secrets.resolve(workspace.apiKeyRef, `API key of workspace "${workspace.name}"`);
        results.push({
          workspace,
          result: await ensureSubscription({ workspace: workspace.name, baseUrl: workspace.baseUrl, apiKey }, url),
        });
      } catch (error) {
        results.push({ workspace, error: redactSecrets(describeError(error), [token]) });
      }
    }
    const rows = results.map(({ workspace, result, error }) => ({
      workspace: workspace.name,
      workspace_id: workspace.id,
      outcome: result?.outcome ?? 'failed',
      subscription_id: result?.subscription.id ?? null,
      url: maskWebhookUrl(`${base}/emailbison/${token}/${workspace.id}`),
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
    const token = await webhookToken(context, { create: false }).catch(() => undefined);
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
            url: maskWebhookUrl(token ? redactSecrets(s.url, [token]) : s.url),
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
          error: token ? redactSecrets(text, [token]) : text,
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
    // A receiver's deliveries are short transactions: 3 connections answer a burst in turn.
    const context = await openCliContext(process.env, { part: 'webhook', maxConnections: 3 });
    const token = await webhookToken(context, { create: true });
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
    const server = await startLocalReceiver(createWebhookReceiver({ token: async () => token, queue: intake.queue, log }), {
      port,
      host: options.host,
    });
    // The one place the token is shown: this terminal. Register with it, or point the simulator at it.
    console.log(`${server.url}/emailbison/${token}`);
    // Nothing delivers to it from simulated workspaces while their simulator is down: say so, and serve anyway.
    await requireSimulator(await listWorkspaces(context.db.sql, { activeOnly: true })).catch((error: Error) =>
      console.error(error.message),
    );
    await context.db.sql.end({ timeout: 5 });
    console.error(
      `webhook receiver listening (database ${context.db.embedded ? 'embedded' : 'DATABASE_URL'}); a workspace's own path is <that URL>/<workspace id>. Deliveries are accepted at once and applied in the background (${SERVE_CONNECTIONS} database connections at most). Ctrl-C to stop: what was accepted is applied first`,
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

async function chosenWorkspaces(context: CliContext, names: string | undefined): Promise<Workspace[]> {
  const all = await listWorkspaces(context.db.sql, { activeOnly: true });
  if (!names) {
    await requireSimulator(all);
    return all;
  }
  const wanted = names
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = wanted.filter((name) => !all.some((w) => w.name === name));
  if (unknown.length > 0) throw new UsageError(`No active workspace named ${unknown.map((n) => `"${n}"`).join(', ')}.`);
  const chosen = all.filter((w) => wanted.includes(w.name));
  await requireSimulator(chosen);
  return chosen;
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

import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../infra/build-app';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../lambdas/config/settings';
import { notConfigured } from '../../lambdas/db/placeholder';
import type { JobRecord } from '../../lambdas/jobs/read-job';
import { invoke, type LambdaRuntime, powertoolsMetrics } from '../../lambdas/runtime/production';
import { tempDir } from '../helpers/cleanup';

/*
 * An alarm on a metric nobody emits never fires (DESIGN.md: ExecutionThrottled, not
 * ExecutionsThrottled). Every alarm's metric is checked against its source: the SenderSync
 * ones against the EMF lines the Lambdas' own metrics code prints (name, namespace and
 * dimensions), the AWS ones against the names AWS documents for that namespace.
 */

type Json = any;

/** Metric names AWS documents, per namespace and dimension. */
const AWS_METRICS: Record<string, { dimension: string; names: string[]; source: string }> = {
  'AWS/States': {
    dimension: 'StateMachineArn',
    names: ['ExecutionsStarted', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted', 'ExecutionThrottled', 'ExecutionTime'],
    source: 'https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html',
  },
  'AWS/Lambda': {
    dimension: 'FunctionName',
    names: ['Errors', 'Throttles', 'Invocations', 'Duration', 'ConcurrentExecutions', 'Url4xxCount', 'Url5xxCount'],
    source: 'https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics.html',
  },
  'AWS/SQS': {
    dimension: 'QueueName',
    names: ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'NumberOfMessagesSent'],
    source: 'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html',
  },
};

interface Emitted {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

/** Every metric the Lambdas' metrics code can emit, read from the EMF it prints. */
async function emittedMetrics(): Promise<Emitted[]> {
  const printed: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
    const run = powertoolsMetrics(metrics);
    run.workspaceSynced({ accountsSynced: 10, rateLimitWaitMs: 5 });
    run.runPlanned({ deferred: 1, neededMinutes: 90 });
    run.runFinished({ workspacesFailed: 1, workspacesSkipped: 0, durationMs: 100, status: 'partial' } as JobRecord);
    run.runChanges({ disconnected: 1, reconnected: 1, added: 1, removed: 1 });
    run.configured();
    run.flush();
    run.digestNotPublished();
    // The placeholder secret, as every handler meets it (invoke's NotConfigured).
    const runtime: LambdaRuntime = { metrics, logger: new Logger(), deps: async () => Promise.reject(notConfigured('arn:placeholder')) };
    await invoke(runtime, {}, undefined, () => async () => undefined).catch(() => {});
  } finally {
    write.mockRestore();
  }
  return printed
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .flatMap((line) => {
      const doc = JSON.parse(line);
      return doc._aws.CloudWatchMetrics.flatMap((set: Json) =>
        set.Metrics.map((metric: Json) => ({
          namespace: set.Namespace,
          name: metric.Name,
          dimensions: Object.fromEntries(set.Dimensions.flat().map((name: string) => [name, doc[name]])),
        })),
      );
    });
}

/** Each alarm's metrics (one, or those of its math expression): namespace, name, dimensions. */
function alarmMetrics(template: Template): { alarm: string; namespace: string; name: string; dimensions: Json[] }[] {
  return Object.entries(template.findResources('AWS::CloudWatch::Alarm')).flatMap(([id, { Properties: p }]: [string, Json]) =>
    p.MetricName
      ? [{ alarm: id, namespace: p.Namespace, name: p.MetricName, dimensions: p.Dimensions ?? [] }]
      : (p.Metrics as Json[])
          .filter((m) => m.MetricStat)
          .map((m) => ({
            alarm: id,
            namespace: m.MetricStat.Metric.Namespace,
            name: m.MetricStat.Metric.MetricName,
            dimensions: m.MetricStat.Metric.Dimensions ?? [],
          })),
  );
}

describe("every alarm's metric", () => {
  let emitted: Emitted[];
  beforeAll(async () => {
    emitted = await emittedMetrics();
  });
  afterAll(() => vi.restoreAllMocks());

  const { template } = (() => {
    const { stack } = buildApp({
      context: { 'aws:cdk:bundling-stacks': [], 'sender-sync:alarmEmail': 'ops@example.com' },
      nag: false,
      cloudFormationValidation: false,
      outdir: tempDir('cdk.out-alarm-metrics-'),
    });
    return { template: Template.fromStack(stack) };
  })();
  const metrics = alarmMetrics(template);

  it('the metrics code emits what these checks read', () => {
    const names = emitted.map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining(['WorkspacesFailed', 'SuccessfulRuns', 'NotConfigured', 'DigestsNotPublished', 'InstanceMinutesNeeded']),
    );
    for (const metric of emitted) expect(metric).toMatchObject({ namespace: 'SenderSync', dimensions: { service: 'sender-sync' } });
  });

  it.each(metrics.filter((m) => m.namespace === METRICS_NAMESPACE).map((m) => [m.name, m.alarm, m]))(
    '%s (%s) is emitted by the Lambdas under the same namespace and dimensions',
    (_name, _alarm, metric) => {
      const match = emitted.filter((e) => e.name === metric.name && e.namespace === metric.namespace);
      expect(match.length, `${metric.name} is never emitted`).toBeGreaterThan(0);
      const wanted = Object.fromEntries(metric.dimensions.map((d: Json) => [d.Name, d.Value]));
      expect(match.some((e) => JSON.stringify(e.dimensions) === JSON.stringify(wanted))).toBe(true);
    },
  );

  it.each(metrics.filter((m) => m.namespace !== METRICS_NAMESPACE).map((m) => [m.namespace, m.name, m]))(
    '%s %s is a metric AWS documents, with its dimension',
    (namespace, name, metric) => {
      const documented = AWS_METRICS[namespace];
      expect(documented, `no documented metrics listed for ${namespace}`).toBeDefined();
      expect(documented.names, documented.source).toContain(name);
      expect(metric.dimensions.map((d: Json) => d.Name)).toEqual([documented.dimension]);
    },
  );
});

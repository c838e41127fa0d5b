import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildApp } from '../../infra/build-app';
import { tempDir } from '../helpers/cleanup';

/* The ChangesTopic (issue 15): the run digest's topic, apart from the alarms, published by Finalize job only. */

type Json = any;

function synth(context: Record<string, unknown> = {}) {
  const { stack } = buildApp({
    context: { 'aws:cdk:bundling-stacks': [], ...context },
    nag: false,
    cloudFormationValidation: false,
    outdir: tempDir('cdk.out-changes-'),
  });
  return { stack, template: Template.fromStack(stack) };
}

const { stack, template } = synth();
const topics = template.findResources('AWS::SNS::Topic');
const changesTopicId = Object.keys(topics).find((id) => id.startsWith('ChangesTopic'))!;
const idOf = (fn: { node: { defaultChild?: unknown } }) =>
  stack.resolve((fn.node.defaultChild as unknown as { logicalId: string }).logicalId) as string;
// Finalize job and Mark failed publish the run digest; the webhook applier, the webhook digests (never the receiver).
const publisherIds = [idOf(stack.functions.tasks.finalizeJob), idOf(stack.functions.tasks.markFailed), idOf(stack.webhooks.applier)].sort();

describe('the ChangesTopic', () => {
  it('is a topic of its own, encrypted, SSL only, with an output for its ARN', () => {
    expect(changesTopicId).toBeDefined();
    expect(Object.keys(topics).filter((id) => id.startsWith('AlarmTopic'))).toHaveLength(1);
    expect(topics[changesTopicId].Properties).toMatchObject({
      DisplayName: 'sender-sync account changes',
      KmsMasterKeyId: expect.anything(),
    });
    expect(JSON.stringify(topics[changesTopicId].Properties.KmsMasterKeyId)).toContain('alias/aws/sns');
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: changesTopicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
      },
    });
    template.hasOutput('ChangesTopicArn', { Value: { Ref: changesTopicId } });
  });

  it('gives Finalize job, Mark failed (a run that broke) and the webhook applier, and no other function, its ARN (CHANGES_TOPIC_ARN) and sns:Publish on it', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    const withTopic = Object.entries(functions)
      .filter(([, fn]: [string, Json]) => fn.Properties.Environment?.Variables?.CHANGES_TOPIC_ARN)
      .map(([id]) => id)
      .sort();
    expect(withTopic).toEqual(publisherIds);
    for (const id of publisherIds)
      expect(functions[id].Properties.Environment.Variables.CHANGES_TOPIC_ARN).toEqual({ Ref: changesTopicId });

    const publishingRoles = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy: Json) =>
        policy.Properties.PolicyDocument.Statement.some(
          (s: Json) => s.Action === 'sns:Publish' && JSON.stringify(s.Resource) === JSON.stringify({ Ref: changesTopicId }),
        ),
      )
      .flatMap((policy: Json) => policy.Properties.Roles.map((role: Json) => role.Ref))
      .sort();
    expect(publishingRoles).toEqual(publisherIds.map((id) => functions[id].Properties.Role['Fn::GetAtt'][0]).sort());
  });

  it('is e-mailed only when changesEmail is given', () => {
    const subscriptions = (t: Template) =>
      Object.values(t.findResources('AWS::SNS::Subscription')).filter((s: Json) => s.Properties.TopicArn.Ref === changesTopicId);
    expect(subscriptions(template)).toHaveLength(0);
    const withEmail = synth({ 'sender-sync:changesEmail': 'inboxes@example.com' }).template;
    expect(subscriptions(withEmail)).toEqual([
      expect.objectContaining({ Properties: { Protocol: 'email', Endpoint: 'inboxes@example.com', TopicArn: { Ref: changesTopicId } } }),
    ]);
  });
});

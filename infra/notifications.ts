import { Aws, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlarmTopicProps {
  /** Subscribed by e-mail (the address must confirm the subscription). */
  email?: string;
}

/**
 * Where every alarm goes. Encrypted with a customer-managed key: CloudWatch alarms
 * cannot publish to a topic encrypted with the AWS-managed alias/aws/sns key, whose
 * policy cannot be changed to let cloudwatch.amazonaws.com use it.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const key = new kms.Key(this, 'Key', {
      description: 'sender-sync: encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'sender-sync alarms',
      masterKey: key,
      enforceSSL: true,
    });
    // enforceSSL gives the topic a policy of its own (one Deny), and a topic policy replaces
    // SNS's default one, whose statement is what let same-account alarms publish: without
    // this Allow every alarm's history reads "not authorized to perform SNS:Publish" and
    // nobody is told (AWS Knowledge Center, "Why didn't I receive an SNS notification for my
    // CloudWatch alarm trigger"). Only this account's alarms, against the confused deputy.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
          ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
        },
      }),
    );
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }
}

export interface ChangesTopicProps {
  /** Subscribed by e-mail (the address must confirm the subscription): the `changesEmail` context. */
  email?: string;
}

/**
 * Where Finalize job sends a run's digest of disconnected and removed accounts: for the
 * people who reconnect inboxes, not the ones paged by alarms, so a topic of its own. Only
 * Lambdas publish to it, so the AWS-managed SNS key is enough.
 */
export class ChangesTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: ChangesTopicProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'sender-sync account changes',
      masterKey: kms.Alias.fromAliasName(this, 'SnsKey', 'alias/aws/sns'),
      enforceSSL: true,
    });
    if (props.email) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
  }

  /** sns:Publish on this topic (see publishOnly). */
  grantPublish(grantee: iam.IGrantable): iam.Grant {
    return publishOnly(this.topic, grantee);
  }
}

/**
 * sns:Publish on a topic encrypted with the AWS-managed SNS key, and nothing on KMS: that
 * key's own policy lets any principal of the account use it through SNS (kms:ViaService),
 * while CDK's topic.grantPublish would add kms:Decrypt and kms:GenerateDataKey* on key/*
 * (an alias's key is unknown at synth), a wildcard cdk-nag rightly refuses.
 */
export function publishOnly(topic: sns.ITopic, grantee: iam.IGrantable): iam.Grant {
  return iam.Grant.addToPrincipal({ grantee, actions: ['sns:Publish'], resourceArns: [topic.topicArn] });
}

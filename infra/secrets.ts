import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { PLACEHOLDER_DATABASE_SECRET } from '../lambdas/db/placeholder';

export interface SyncSecretsProps {
  /** Complete ARN of an existing database secret; absent: one is created, to be filled in. */
  databaseSecretArn?: string;
  /** Complete ARN of an existing API-keys secret; absent: one is created, to be filled in. */
  apiKeysSecretArn?: string;
}

/**
 * The two secrets, imported by ARN or created empty:
 * - database: `{ "host", "port", "username", "password", "dbname" }`;
 * - API keys: `{ "<workspace name>": "<api-user key>", ... }`.
 * Created ones hold placeholders (the database password is generated; everything else
 * must be filled in: see the README) and are kept when the stack is deleted or a change
 * replaces them (Retain), so the credentials and every workspace key outlive the stack.
 * While the database secret holds the placeholder, the Lambdas end each run with
 * NotConfiguredError (lambdas/db/placeholder.ts).
 */
export class SyncSecrets extends Construct {
  readonly database: secretsmanager.ISecret;
  readonly apiKeys: secretsmanager.ISecret;
  readonly created: { database: boolean; apiKeys: boolean };

  constructor(scope: Construct, id: string, props: SyncSecretsProps) {
    super(scope, id);
    this.created = { database: !props.databaseSecretArn, apiKeys: !props.apiKeysSecretArn };

    this.database = props.databaseSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'Database', props.databaseSecretArn)
      : new secretsmanager.Secret(this, 'Database', {
          description:
            'sender-sync: Postgres credentials as {"host","port","username","password","dbname"}. Fill in host, username and dbname (and the password, if the database already has one).',
          generateSecretString: {
            secretStringTemplate: JSON.stringify(PLACEHOLDER_DATABASE_SECRET),
            generateStringKey: 'password',
            excludePunctuation: true,
            passwordLength: 32,
          },
          removalPolicy: RemovalPolicy.RETAIN,
        });

    this.apiKeys = props.apiKeysSecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'ApiKeys', props.apiKeysSecretArn)
      : new secretsmanager.Secret(this, 'ApiKeys', {
          description:
            'sender-sync: EmailBison api-user keys as {"<workspace name>": "<api key>", ...}. Replace the placeholder entry with one entry per workspace.',
          // Secrets Manager can only generate a value; the placeholder key is harmless and named for what to do.
          generateSecretString: {
            secretStringTemplate: '{}',
            generateStringKey: 'REPLACE_WITH_WORKSPACE_NAME',
            excludePunctuation: true,
          },
          removalPolicy: RemovalPolicy.RETAIN,
        });

    for (const secret of [this.database, this.apiKeys]) {
      if (secret instanceof secretsmanager.Secret) {
        Validations.of(secret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason:
            'The database password belongs to an external Postgres (e.g. Supabase) and the API keys to EmailBison; Secrets Manager cannot rotate either. Rotate them at the source and update the secret.',
        });
      }
    }
  }
}

import generated from './definition.asl.json' with { type: 'json' };

/*
 * The ASL as data, apart from the CDK code that synthesizes it (synthesize.ts), so that
 * running it locally does not load the CDK (about 2 s at every `npm start`).
 */

/** What local executions are called: `arn:aws:states:local:000000000000:execution:sender-sync:<name>`. */
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'local';
export const LOCAL_STATE_MACHINE_NAME = 'sender-sync';
export const LOCAL_STATE_MACHINE_ARN = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:${LOCAL_STATE_MACHINE_NAME}`;
/** Every local execution's ARN starts so: a job row with one was started by a local run. */
export const LOCAL_EXECUTION_ARN_PREFIX = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:${LOCAL_STATE_MACHINE_NAME}:`;

export function localExecutionArn(executionName: string): string {
  return `${LOCAL_EXECUTION_ARN_PREFIX}${executionName}`;
}

export type AslDefinition = {
  StartAt: string;
  States: Record<string, Record<string, unknown>>;
  TimeoutSeconds?: number;
  [field: string]: unknown;
};

/**
 * The definition CDK synthesizes (synthesizeDefinition() with its defaults: Map
 * concurrency 3, the 2-hour timeout), as `npm run definition` wrote it to
 * definition.asl.json. test/unit/state-machine/definition-json.test.ts fails when it
 * differs from what the CDK code synthesizes now.
 */
export const GENERATED_DEFINITION = generated as unknown as AslDefinition;
/** The Map concurrency GENERATED_DEFINITION was synthesized with. */
export const GENERATED_MAP_CONCURRENCY = 3;

/**
 * aws-local-stepfunctions 3.0.0 accepts these and silently ignores them, so a definition
 * using them would run differently on a developer's machine than in AWS.
 */
export const LOCALLY_IGNORED_FIELDS = [
  'QueryLanguage',
  'Assign',
  'Arguments',
  'Output',
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'ToleratedFailureCount',
  'ToleratedFailurePercentage',
  'ToleratedFailureCountPath',
  'ToleratedFailurePercentagePath',
] as const;

/** Every place the definition uses a field the local runner ignores, or a JSONata expression. */
export function findLocallyIgnoredFeatures(definition: unknown, path = '$'): string[] {
  const found: string[] = [];
  if (Array.isArray(definition)) {
    definition.forEach((item, index) => found.push(...findLocallyIgnoredFeatures(item, `${path}[${index}]`)));
  } else if (definition && typeof definition === 'object') {
    for (const [key, value] of Object.entries(definition)) {
      const here = `${path}.${key}`;
      if ((LOCALLY_IGNORED_FIELDS as readonly string[]).includes(key)) found.push(here);
      found.push(...findLocallyIgnoredFeatures(value, here));
    }
  } else if (typeof definition === 'string' && /^\{%[\s\S]*%\}$/.test(definition.trim())) {
    found.push(`${path} (JSONata expression)`);
  }
  return found;
}

import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, type ErrorName } from '../../../lambdas/errors';
import { TASK_NAMES } from '../../../lambdas/tasks';
import { LAMBDA_SERVICE_ERRORS, STATE, TASK_OF_STATE } from '../../../state-machine/definition';
import { findLocallyIgnoredFeatures, synthesizeDefinition, type AslDefinition } from '../../../state-machine/synthesize';

type State = Record<string, any>;

const asl = synthesizeDefinition();
const mapState = asl.States[STATE.syncEachWorkspace] as State;
const iteration = mapState.ItemProcessor as AslDefinition;

function allStates(definition: AslDefinition): [string, State][] {
  return Object.entries(definition.States).flatMap(([name, state]) => [
    [name, state] as [string, State],
    ...(state.ItemProcessor ? allStates(state.ItemProcessor as AslDefinition) : []),
  ]);
}

describe('the synthesized definition', () => {
  it('uses no feature aws-local-stepfunctions ignores (JSONata, Assign, ItemReader, ItemBatcher, ToleratedFailure*)', () => {
    expect(findLocallyIgnoredFeatures(asl)).toEqual([]);
    const text = JSON.stringify(asl);
    for (const field of ['QueryLanguage', 'Assign', 'ItemReader', 'ItemBatcher', 'ToleratedFailure', '{%']) {
      expect(text, field).not.toContain(field);
    }
  });

  it('finds an ignored feature when one is added', () => {
    const tampered = structuredClone(asl);
    (tampered.States[STATE.startJob] as State).Assign = { x: 1 };
    (tampered as State).QueryLanguage = 'JSONata';
    (tampered.States[STATE.done] as State).Output = '{% $states.input %}';
    expect(findLocallyIgnoredFeatures(tampered)).toEqual([
      '$.States.Start job.Assign',
      '$.States.Done.Output',
      '$.States.Done.Output (JSONata expression)',
      '$.QueryLanguage',
    ]);
  });

  it('gives every state a comment and names it for an operator', () => {
    const states = allStates(asl);
    expect(states.map(([name]) => name).sort()).toEqual(Object.values(STATE).sort());
    for (const [name, state] of states) expect(state.Comment?.length, name).toBeGreaterThan(20);
  });

  it('maps every Task state to a task function', () => {
    const tasks = allStates(asl)
      .filter(([, state]) => state.Type === 'Task')
      .map(([name]) => name);
    expect(tasks.sort()).toEqual(Object.keys(TASK_OF_STATE).sort());
  });

  it('invokes every task of the roster from some Task state', () => {
    expect([...new Set(Object.values(TASK_OF_STATE))].sort()).toEqual([...TASK_NAMES].sort());
  });

  it('starts the job with the execution input (wrapped first, whatever its shape), its ARN and start time', () => {
    const start = asl.States[STATE.startJob] as State;
    expect(asl.StartAt).toBe(STATE.readInput);
    expect(asl.States[STATE.readInput]).toMatchObject({ Type: 'Pass', Parameters: { 'input.$': '$' }, Next: STATE.startJob });
    expect(start.Resource).toBe('arn:aws:states:::lambda:invoke');
    expect(start.Parameters.Payload).toEqual({
      'input.$': '$.input',
      'executionArn.$': '$$.Execution.Id',
      'executionStartTime.$': '$$.Execution.StartTime',
    });
    expect(start.OutputPath).toBe('$.Payload');
  });

  it('maps over the workspaces with MaxConcurrency from the parameter, discarding the results', () => {
    expect(mapState.MaxConcurrency).toBe(3);
    expect(synthesizeDefinition({ mapConcurrency: 5 }).States[STATE.syncEachWorkspace]).toMatchObject({ MaxConcurrency: 5 });
    expect(mapState.ItemsPath).toBe('$.workspaceIds');
    // mode and day: Start job's, so the daily warmup pass runs this same Map (Sync workspace reads warmup figures for the day).
    expect(mapState.ItemSelector).toEqual({
      'jobId.$': '$.jobId',
      workspace: { 'id.$': '$$.Map.Item.Value' },
      cursor: null,
      'mode.$': '$.mode',
      'day.$': '$.day',
    });
    expect(mapState.ResultPath).toBeNull();
  });

  it('ends each iteration in a state whose output is the workspace only', () => {
    expect(iteration.States[STATE.workspaceSynced]).toMatchObject({ Type: 'Succeed', OutputPath: '$.workspace' });
    expect(iteration.States[STATE.recordWorkspaceFailure]).toMatchObject({ End: true, ResultPath: null, OutputPath: '$.workspace' });
    expect(iteration.States[STATE.morePages]).toMatchObject({
      Choices: [{ Variable: '$.done', BooleanEquals: false, Next: STATE.syncWorkspace }],
      Default: STATE.workspaceSynced,
    });
  });

  it('retries Sync workspace: never the non-retryable errors, Lambda service errors incl. TooManyRequests, then everything else', () => {
    const sync = iteration.States[STATE.syncWorkspace] as State;
    expect(sync.Parameters['Payload.$']).toBe('$');
    const [never, service, other] = sync.Retry;
    expect(sync.Retry).toHaveLength(3);
    expect(never.MaxAttempts).toBe(0);
    for (const name of [
      'RejectedApiKeyError',
      'BaseUrlNotFoundError',
      'WorkspaceNotFoundError',
      'InvalidInputError',
      'ConfigError',
      'MalformedPageError',
      'SecretUnavailableError',
      'MigrationError',
      'EmailBisonUnreachableError',
      'KeyBoundElsewhereError',
    ]) {
      expect(never.ErrorEquals).toContain(name);
    }
    expect(service.ErrorEquals).toEqual(
      expect.arrayContaining([
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
      ]),
    );
    expect(service).toMatchObject({ MaxAttempts: 6, BackoffRate: 2 });
    expect(other).toMatchObject({ ErrorEquals: ['States.ALL'], MaxAttempts: 3, BackoffRate: 2 });
    expect(sync.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordWorkspaceFailure }]);
    expect(sync.TimeoutSeconds).toBe(960);
  });

  it('retries every Lambda task on Lambda.TooManyRequestsException', () => {
    for (const [name, state] of allStates(asl).filter(([, s]) => s.Type === 'Task')) {
      const serviceRetrier = state.Retry.find((retrier: State) => retrier.ErrorEquals.includes('Lambda.ServiceException'));
      expect(serviceRetrier?.ErrorEquals, name).toEqual([...LAMBDA_SERVICE_ERRORS]);
      expect(state.TimeoutSeconds, name).toBeGreaterThan(60);
    }
  });

  it('sends a failure of Start job, the Map or Finalize job to Record run failure, which ends in a Fail state with the error', () => {
    expect((asl.States[STATE.startJob] as State).Catch).toEqual([
      { ErrorEquals: ['NotConfiguredError'], ResultPath: '$.error', Next: STATE.notConfigured },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.noJobYet },
    ]);
    expect(asl.States[STATE.notConfigured]).toEqual(expect.objectContaining({ Type: 'Succeed' }));
    expect(asl.States[STATE.noJobYet]).toMatchObject({ Parameters: { jobId: null, 'error.$': '$.error' }, Next: STATE.recordRunFailure });
    for (const name of [STATE.syncEachWorkspace, STATE.finalizeJob]) {
      expect((asl.States[name] as State).Catch, name).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: STATE.recordRunFailure },
      ]);
    }
    const record = asl.States[STATE.recordRunFailure] as State;
    expect(record.Parameters.Payload).toEqual({
      scope: 'run',
      'executionArn.$': '$$.Execution.Id',
      'jobId.$': '$.jobId',
      'error.$': '$.error',
    });
    expect(record.Next).toBe(STATE.runBroke);
    expect(record.Catch[0].Next).toBe(STATE.runBroke);
    expect(asl.States[STATE.runBroke]).toEqual(
      expect.objectContaining({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' }),
    );
  });

  it('fails the execution when the job failed, and times out after two hours', () => {
    expect(asl.States[STATE.runResult]).toMatchObject({
      Choices: [
        {
          And: [
            { Variable: '$.alreadyEnded', IsPresent: true },
            { Variable: '$.status', StringEquals: 'failed' },
          ],
          Next: STATE.jobAlreadyEnded,
        },
        { Variable: '$.status', StringEquals: 'failed', Next: STATE.runFailed },
      ],
      Default: STATE.done,
    });
    expect(asl.States[STATE.runFailed]).toMatchObject({ Type: 'Fail', Error: 'RunFailed' });
    expect(asl.States[STATE.jobAlreadyEnded]).toMatchObject({ Type: 'Fail', Error: 'JobAlreadyEnded', CausePath: '$.note' });
    expect(asl.TimeoutSeconds).toBe(7200);
  });
});

/** What the state machine does with an error a Task throws: the first retrier and catcher that match it, as Step Functions picks them. */
function handling(task: State, error: string): { attempts: number; caughtBy?: string } {
  const matches = (rule: State) => rule.ErrorEquals.includes(error) || rule.ErrorEquals.includes('States.ALL');
  const retrier = (task.Retry ?? []).find(matches);
  const catcher = (task.Catch ?? []).find(matches);
  return { attempts: retrier?.MaxAttempts ?? 0, caughtBy: catcher?.Next };
}

/** Every catalogue error whose handling in this Task disagrees with the catalogue's `retried`. */
function disagreements(task: State): string[] {
  return (Object.keys(ERROR_CATALOGUE) as ErrorName[])
    .filter((name) => handling(task, name).attempts > 0 !== ERROR_CATALOGUE[name].retried)
    .map((name) => `${name}: catalogue says retried=${ERROR_CATALOGUE[name].retried}, retried ${handling(task, name).attempts} time(s)`);
}

describe('the error catalogue and the synthesized definition', () => {
  const sync = iteration.States[STATE.syncWorkspace] as State;

  it('Sync workspace retries exactly the errors the catalogue marks retried, and records every one as a workspace failure', () => {
    expect(disagreements(sync)).toEqual([]);
    for (const name of Object.keys(ERROR_CATALOGUE)) expect(handling(sync, name).caughtBy, name).toBe(STATE.recordWorkspaceFailure);
  });

  it('every Lambda task agrees with the catalogue', () => {
    for (const [name, state] of allStates(asl).filter(([, s]) => s.Type === 'Task')) expect(disagreements(state), name).toEqual([]);
  });

  it('does not retry a missing secret or a failed migration', () => {
    expect(handling(sync, 'SecretUnavailableError').attempts).toBe(0);
    expect(handling(sync, 'MigrationError').attempts).toBe(0);
    expect(handling(sync, 'EmailBisonUnavailableError').attempts).toBe(3);
    expect(handling(sync, 'DatabaseUnavailableError').attempts).toBe(3);
  });

  it('notices a definition that retries what the catalogue says it must not', () => {
    const tampered = structuredClone(sync);
    tampered.Retry[0].ErrorEquals = tampered.Retry[0].ErrorEquals.filter((name: string) => name !== 'SecretUnavailableError');
    expect(disagreements(tampered)).toEqual(['SecretUnavailableError: catalogue says retried=false, retried 3 time(s)']);
  });
});

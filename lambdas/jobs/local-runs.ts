/*
 * A local run (`npm start`) holds a lease row with a heartbeat (local_run_lease, migration
 * 011; local/run-lock.ts). Start job, wherever it runs, reads the same facts to tell a dead
 * local run's `running` job from a live one: a dead run's job must not block the next run
 * until the run timeout passes (two hours by default).
 */

/** Local executions are named in the `local` region (state-machine/asl.ts LOCAL_EXECUTION_ARN_PREFIX). */
export const LOCAL_EXECUTION_ARN_PATTERN = 'arn:aws:states:local:%';
/** Six heartbeats (10 s apart) missed: a local run this silent is dead (a laptop asleep a minute loses its lease). */
export const LOCAL_RUN_DEAD_AFTER_SECONDS = 60;
export const DEAD_LOCAL_RUN_REASON = 'the local run stopped without finishing';

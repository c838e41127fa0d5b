import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isAlive, isOnThisMachine, thisProcess } from '../../../local/process-identity';

describe('whether a process lives', () => {
  it('this one does, and is on this machine', () => {
    const me = thisProcess();
    expect(isAlive(me)).toBe(true);
    expect(isOnThisMachine(me)).toBe(true);
    expect(isOnThisMachine({ ...me, host: 'another-laptop' })).toBe(false);
  });

  it('an exited one does not', () => {
    const { pid } = spawnSync(process.execPath, ['-e', '0']);
    expect(isAlive({ pid: pid! })).toBe(false);
  });

  it('a pid now used by another process (its start time differs) is not the one recorded', () => {
    const me = thisProcess();
    expect(isAlive({ pid: me.pid, started: '1' })).toBe(process.platform !== 'linux');
  });

  it.skipIf(process.platform !== 'linux')('a killed one its parent has not reaped yet (a zombie) does not', async () => {
    // The shell's child exits after 0.1 s under `exec sleep`, which never reaps it: a zombie for a second.
    const shell = spawn('/bin/sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 1.5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const [chunk] = (await once(shell.stdout!, 'data')) as [Buffer];
    const zombie = Number(chunk.toString().trim());
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(() => process.kill(zombie, 0)).not.toThrow(); // what a pid check alone would call alive
    expect(isAlive({ pid: zombie })).toBe(false);
    await once(shell, 'exit');
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startApi, type RunningApi } from '../../api/test/support/harness.js';
import { asRunningNode, cli } from './support/cli.js';

let api: RunningApi;
let env: Record<string, string>;

beforeEach(async () => {
  api = await startApi();
  env = await asRunningNode(api);
});
afterEach(() => api.close());

describe('ferry jobs', () => {
  it('lists the queue with its counts, shows a job, retries a failed one', async () => {
    const { job: pushed } = await api.store.jobs.enqueue({ kind: 'push', payload: { site: 'partner', file: { account: 'alice', path: '/out/a.csv' } } });
    const { job: failing } = await api.store.jobs.enqueue({ kind: 'pull', payload: { site: 'partner', remotePath: '/x' } });
    await api.store.jobs.claim({ worker: 'w', leaseMs: 60_000 });
    const claimed = await api.store.jobs.claim({ worker: 'w', leaseMs: 60_000 });
    expect(claimed?.id).toBe(failing.id);
    await api.store.jobs.fail(failing.id, 'w', 'partner unreachable');

    const list = await cli(['jobs'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^queued 0, running 1, done 0, failed 1\nID\s+KIND\s+STATUS\s+ATTEMPTS\s+UPDATED\s+WHAT\n/);
    expect(list.stdout).toMatch(new RegExp(`${failing.id}\\s+pull\\s+failed\\s+1/5\\s+\\S+\\s+partner /x — partner unreachable`));
    expect(list.stdout).toMatch(new RegExp(`${pushed.id}\\s+push\\s+running\\s+1/5\\s+\\S+\\s+partner alice:/out/a.csv`));
    expect(JSON.parse((await cli(['jobs', '--json'], { env })).stdout).counts).toEqual({ queued: 0, running: 1, done: 0, failed: 1 });
    expect(JSON.parse((await cli(['jobs', 'show', String(failing.id)], { env })).stdout)).toMatchObject({ id: failing.id, lastError: 'partner unreachable' });

    expect(await cli(['jobs', 'retry', String(failing.id)], { env })).toMatchObject({ code: 0, stdout: `job ${failing.id} (pull) is queued again\n` });
    const again = await cli(['jobs', 'retry', String(pushed.id)], { env });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/only a failed job can be retried/);
  });

  it('lists the schedules', async () => {
    const list = await cli(['schedules'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^NAME\s+CRON\s+JOB\s+MISFIRE\s+NEXT\s+LAST\nhourly-pull\s+0 \* \* \* \*\s+pull\s+once\s+\S+Z\s+-\n$/);
  });
});

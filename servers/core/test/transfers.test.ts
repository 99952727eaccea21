import { describe, expect, it, vi } from 'vitest';
import { AdmissionGate, SessionTable, TransferRegistry, describeTransfer, isFerryError } from '@ferry/core';

describe('TransferRegistry', () => {
  const init = { protocol: 'http', account: 'alice', remoteAddress: '127.0.0.1', path: '/a.bin', direction: 'upload' as const };

  it('tracks bytes, size, offset and an ETA from the measured rate', () => {
    vi.useFakeTimers({ now: 0 });
    try {
      const registry = new TransferRegistry('httpd');
      const t = registry.begin({ ...init, size: 10_000, offset: 2000 });
      vi.setSystemTime(1000);
      t.progress(1000);
      vi.setSystemTime(2000);
      t.progress(1000);
      const snap = registry.list()[0]!;
      expect(snap).toMatchObject({ component: 'httpd', bytes: 2000, offset: 2000, size: 10_000, account: 'alice' });
      expect(snap.rate).toBe(1000);
      expect(snap.etaSeconds).toBe(6);
      expect(describeTransfer(snap)).toContain('alice@127.0.0.1 upload /a.bin');
    } finally {
      vi.useRealTimers();
    }
  });

  it('gives transfers UUID version 7 ids that sort by start time and do not repeat', () => {
    const registry = new TransferRegistry('httpd');
    const ids: string[] = [];
    const at = [Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1, Date.UTC(2031, 5, 30)];
    vi.useFakeTimers({ now: at[0] });
    try {
      for (const now of at) {
        vi.setSystemTime(now);
        for (let i = 0; i < 3; i++) ids.push(registry.begin(init).id);
      }
    } finally {
      vi.useRealTimers();
    }
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // The first 48 bits are the start time in milliseconds.
    expect(ids.map((id) => Number.parseInt(id.replace('-', '').slice(0, 12), 16))).toEqual(at.flatMap((now) => [now, now, now]));
    expect(ids.slice(0, 3).every((id) => id < ids[3]!) && ids.slice(3, 6).every((id) => id < ids[6]!)).toBe(true);
  });

  it('has no ETA without a size', () => {
    const registry = new TransferRegistry('httpd');
    registry.begin(init).progress(10);
    expect(registry.list()[0]!.etaSeconds).toBeNull();
  });

  it('emits end once with the outcome, and idle when the last transfer ends', async () => {
    const registry = new TransferRegistry('sshd');
    const ends: string[] = [];
    registry.on('end', (e) => ends.push(`${e.snapshot.path}:${e.outcome}`));
    const a = registry.begin(init);
    const b = registry.begin({ ...init, path: '/b.bin' });
    const idle = registry.whenIdle();
    a.end('completed');
    a.end('failed');
    expect(registry.size).toBe(1);
    b.end('interrupted', 'client gone');
    await idle;
    expect(ends).toEqual(['/a.bin:completed', '/b.bin:interrupted']);
    await registry.whenIdle();
  });

  it('abortAll fires each signal with the reason; forceEndAll cleans up what was not ended', () => {
    const registry = new TransferRegistry('ftpd');
    const t = registry.begin(init);
    registry.abortAll('drain deadline reached');
    expect(t.signal.aborted).toBe(true);
    expect((t.signal.reason as Error).message).toBe('drain deadline reached');
    registry.forceEndAll('drain deadline reached');
    expect(registry.size).toBe(0);
  });

  it('onAbort and signal see the same cut, whichever was asked for first, and nothing after the end', () => {
    const registry = new TransferRegistry('sshd');
    const early = registry.begin(init);
    const heard: string[] = [];
    early.onAbort((reason) => heard.push(`early: ${reason.message}`));
    const signalBefore = early.signal;
    registry.abortAll('immediate stop');
    expect(signalBefore.aborted).toBe(true);
    // A listener added after the cut hears it at once, as a signal made after it is already aborted.
    early.onAbort((reason) => heard.push(`late: ${reason.message}`));
    const late = registry.begin(init);
    late.abort('drain deadline reached');
    expect((late.signal.reason as Error).message).toBe('drain deadline reached');
    const ended = registry.begin(init);
    ended.onAbort(() => heard.push('ended'));
    ended.end('completed');
    ended.abort('too late');
    expect(ended.signal.aborted).toBe(false);
    expect(heard).toEqual(['early: immediate stop', 'late: immediate stop']);
  });

  it('counts transfers per session', () => {
    const registry = new TransferRegistry('httpd');
    registry.begin({ ...init, sessionId: 's1' });
    registry.begin({ ...init, sessionId: 's1' });
    registry.begin({ ...init, sessionId: 's2' });
    expect(registry.countForSession('s1')).toBe(2);
    expect(registry.countForSession('s3')).toBe(0);
  });
});

describe('AdmissionGate', () => {
  it('refuses every operation with FERRY_ERR_DRAINING and the reason while closed', async () => {
    const gate = new AdmissionGate();
    gate.check('upload');
    gate.close('server is shutting down', 12.2);
    for (const op of ['login', 'upload', 'download', 'list', 'stat', 'delete', 'rename', 'mkdir', 'rmdir'] as const) {
      try {
        gate.check(op);
        expect.unreachable();
      } catch (err) {
        expect(isFerryError(err, 'FERRY_ERR_DRAINING')).toBe(true);
        expect((err as Error).message).toBe(`${op} refused: server is shutting down`);
        expect((err as { details: unknown }).details).toMatchObject({ operation: op, retryAfterSeconds: 13 });
      }
    }
    await expect(gate.run('list', async () => 1)).rejects.toThrow(/refused/);
    gate.open();
    expect(await gate.run('list', async () => 1)).toBe(1);
  });

  it('counts admitted operations until they settle, and says when it is idle', async () => {
    const gate = new AdmissionGate();
    const idle = vi.fn();
    gate.on('idle', idle);
    let finish!: () => void;
    const op = gate.run('rename', () => new Promise<void>((r) => (finish = r)));
    expect(gate.inFlight).toBe(1);
    finish();
    await op;
    expect(gate.inFlight).toBe(0);
    expect(idle).toHaveBeenCalledOnce();
    await expect(gate.run('mkdir', async () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    expect(gate.inFlight).toBe(0);
  });
});

describe('SessionTable', () => {
  it('closes only the sessions that are not busy', () => {
    const table = new SessionTable();
    const closed: string[] = [];
    const a = table.open({ protocol: 'ftp', remoteAddress: '::1', closePolitely: () => closed.push('a') });
    table.open({ protocol: 'ftp', remoteAddress: '::1', closePolitely: () => closed.push('b') });
    table.closeIdle('bye', (id) => id === a.id);
    expect(closed).toEqual(['b']);
    table.close(a.id);
    table.closeOne(a.id, 'bye');
    expect(closed).toEqual(['b']);
    expect(table.size).toBe(1);
  });
});

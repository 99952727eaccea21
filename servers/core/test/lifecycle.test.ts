import { describe, expect, it } from 'vitest';
import { LIFECYCLE_STATES, assertTransition, canTransition, isFerryError } from '@ferry/core';

describe('lifecycle table', () => {
  it('walks a graceful stop and a resume', () => {
    const walk = ['starting', 'running', 'draining', 'drained', 'stopping', 'stopped'] as const;
    for (let i = 1; i < walk.length; i++) expect(canTransition(walk[i - 1]!, walk[i]!)).toBe(true);
    expect(canTransition('draining', 'running')).toBe(true);
    expect(canTransition('drained', 'running')).toBe(true);
  });

  it('refuses the rest with a typed error naming both states', () => {
    expect(canTransition('stopped', 'draining')).toBe(false);
    expect(canTransition('stopping', 'running')).toBe(false);
    try {
      assertTransition('httpd', 'stopping', 'running');
      expect.unreachable();
    } catch (err) {
      expect(isFerryError(err, 'FERRY_ERR_LIFECYCLE_TRANSITION')).toBe(true);
      expect((err as Error).message).toBe('httpd cannot go from stopping to running');
    }
  });

  it('every state reaches failed or is terminal', () => {
    for (const s of LIFECYCLE_STATES) if (s !== 'stopped' && s !== 'failed') expect(canTransition(s, 'failed')).toBe(true);
  });
});

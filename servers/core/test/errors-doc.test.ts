import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@ferry/core';

// The documented list of error codes and the code stay in step.
describe('docs/errors.md', () => {
  const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
  const rows = [...doc.matchAll(/^\| `(FERRY_ERR_[A-Z_]+)` \| (yes|no) \|/gm)].map((m) => ({ code: m[1]!, retryable: m[2] === 'yes' }));

  it('lists every code exactly once, with its retryability', () => {
    expect(rows.map((r) => r.code).sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const row of rows) expect(row.retryable, row.code).toBe(ERROR_CODES[row.code as keyof typeof ERROR_CODES].retryable);
  });
});

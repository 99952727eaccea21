import { FerryError, type AuthenticatedAccount, type LoginService } from '@ferry/core';
import { describe, expect, it } from 'vitest';
import { BasicAuth } from '../src/auth.js';
import type { Exchange } from '../src/exchange.js';

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

function exchange(authorization?: string): Exchange {
  const session = { remoteAddress: '127.0.0.1', id: 's1', account: '' };
  return { headers: authorization === undefined ? {} : { authorization }, session } as unknown as Exchange;
}

/** A LoginService stand-in that counts password checks. */
function fakeLogin(): { login: LoginService; calls: string[] } {
  const calls: string[] = [];
  const login = {
    async password(name: string, password: string): Promise<AuthenticatedAccount> {
      calls.push(`${name}:${password}`);
      if (password !== 'right') throw new FerryError('FERRY_ERR_AUTH_FAILED', 'authentication failed');
      return { account: { id: 1, name, home: '/h', enabled: true, createdAt: '' }, storage: {} as AuthenticatedAccount['storage'] };
    },
  } as unknown as LoginService;
  return { login, calls };
}

describe('BasicAuth', () => {
  it('checks a credential once and reuses it while cached', async () => {
    const { login, calls } = fakeLogin();
    const auth = new BasicAuth(login);
    const header = basic('alice', 'right');
    const results = await Promise.all([1, 2, 3].map(() => auth.authenticate(exchange(header))));
    await auth.authenticate(exchange(header));
    expect(results.every((r) => r.account.name === 'alice')).toBe(true);
    expect(calls).toEqual(['alice:right']);
  });

  it('does not cache failures, and expires successes', async () => {
    const { login, calls } = fakeLogin();
    const auth = new BasicAuth(login, 20);
    await expect(auth.authenticate(exchange(basic('alice', 'wrong')))).rejects.toMatchObject({ code: 'FERRY_ERR_AUTH_FAILED' });
    await expect(auth.authenticate(exchange(basic('alice', 'wrong')))).rejects.toMatchObject({ code: 'FERRY_ERR_AUTH_FAILED' });
    await auth.authenticate(exchange(basic('alice', 'right')));
    await new Promise((r) => setTimeout(r, 30));
    await auth.authenticate(exchange(basic('alice', 'right')));
    expect(calls).toEqual(['alice:wrong', 'alice:wrong', 'alice:right', 'alice:right']);
  });

  it('refuses missing and malformed credentials without a login', async () => {
    const { login, calls } = fakeLogin();
    const auth = new BasicAuth(login);
    for (const header of [undefined, '', 'Bearer x', 'Basic !!!', `Basic ${Buffer.from('nocolon').toString('base64')}`]) {
      await expect(auth.authenticate(exchange(header))).rejects.toMatchObject({ code: 'FERRY_ERR_AUTH_FAILED' });
    }
    expect(calls).toEqual([]);
  });

  it('keeps passwords with colons whole', async () => {
    const { login, calls } = fakeLogin();
    await new BasicAuth(login).authenticate(exchange(basic('alice', 'a:b'))).catch(() => undefined);
    expect(calls).toEqual(['alice:a:b']);
  });
});

import { isFerryError, type AuthenticatedAccount, type ComponentContext, type LoginMeta, type SshKey } from '@ferry/core';
import type { SshdConfig } from './config.js';
import type { AuthAttempt } from './driver.js';

/**
 * `in`: the client is authenticated. `key-acceptable`: the client only asked whether a key would
 * do (it signs next). `rejected`: try again, or give up.
 */
export type AuthResult = { kind: 'in'; login: AuthenticatedAccount } | { kind: 'key-acceptable' } | { kind: 'rejected' };

const REJECTED: AuthResult = { kind: 'rejected' };

/**
 * Passwords go to the core's LoginService; public keys are matched against the account's keys in
 * the store and their signature verified here, then reported to the LoginService as verified (or
 * rejected), so that every failure is slowed and logged the same way, never with the secret.
 * FERRY_ERR_DRAINING passes through: the caller turns it into a disconnect with the reason.
 */
export async function authenticate(ctx: ComponentContext<SshdConfig>, attempt: AuthAttempt, meta: LoginMeta): Promise<AuthResult> {
  try {
    if (attempt.method === 'password') return { kind: 'in', login: await ctx.login.password(attempt.username, attempt.password, meta) };
    const { key, username } = attempt;
    const known = (await keysOf(ctx, username)).find((stored) => key.matches(stored.publicKey));
    // A query without a signature proves nothing, so refusing one is not a failed login.
    if (!key.signed) return known ? { kind: 'key-acceptable' } : REJECTED;
    if (known === undefined || !key.verifies(known.publicKey)) {
      ctx.log.debug({ account: username, fingerprint: key.fingerprint }, 'ssh key not accepted');
      await ctx.login.rejected(username, meta, 'publickey');
    }
    return { kind: 'in', login: await ctx.login.verified(username, meta, 'publickey') };
  } catch (err) {
    if (isFerryError(err, 'FERRY_ERR_AUTH_FAILED')) return REJECTED;
    throw err;
  }
}

async function keysOf(ctx: ComponentContext<SshdConfig>, username: string): Promise<SshKey[]> {
  try {
    return await ctx.store.accounts.sshKeys(username);
  } catch (err) {
    // An unknown account has no keys; it fails like a wrong key, not faster or differently.
    if (isFerryError(err, 'FERRY_ERR_ACCOUNT_NOT_FOUND')) return [];
    throw err;
  }
}

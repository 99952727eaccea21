import type { Kysely, Selectable } from 'kysely';
import { FerryError } from '../errors.js';
import { checkName, checkPassword, checkText } from './checks.js';
import { isUniqueViolation, storeCall } from './guard.js';
import { hashPassword, rejectAfterHashing, verifyPasswordHash } from './password.js';
import type { AccountSshKeyTable, AccountTable, Database } from './schema.js';
import { parsePublicKeyLine } from './ssh-keys.js';
import type { Account, AccountStore, NewAccount, SshKey } from './types.js';

const MAX_HOME_LENGTH = 4096;
const ACCOUNT_COLUMNS = ['id', 'name', 'home', 'enabled', 'created_at'] as const;
const SSH_KEY_COLUMNS = ['id', 'public_key', 'fingerprint', 'created_at'] as const;

export function accountStore(db: Kysely<Database>): AccountStore {
  async function idOf(name: string): Promise<number> {
    const row = await db.selectFrom('accounts').select('id').where('name', '=', name).executeTakeFirst();
    if (!row) throw accountNotFound(name);
    return row.id;
  }

  return {
    create: (account: NewAccount) =>
      storeCall('create account', async () => {
        const name = checkName('account', account.name);
        const password = checkPassword(account.password);
        const home = checkText('home', account.home, MAX_HOME_LENGTH);
        const passwordHash = await hashPassword(password);
        try {
          const row = await db
            .insertInto('accounts')
            .values({ name, password_hash: passwordHash, home, enabled: account.enabled === false ? 0 : 1, created_at: new Date().toISOString() })
            .returning(ACCOUNT_COLUMNS)
            .executeTakeFirstOrThrow();
          return toAccount(row);
        } catch (err) {
          if (isUniqueViolation(err)) {
            throw new FerryError('FERRY_ERR_ACCOUNT_EXISTS', `an account named "${name}" already exists`, { cause: err, details: { account: name } });
          }
          throw err;
        }
      }),

    get: (name: string) =>
      storeCall('get account', async () => {
        const row = await db.selectFrom('accounts').select(ACCOUNT_COLUMNS).where('name', '=', name).executeTakeFirst();
        return row && toAccount(row);
      }),

    list: () =>
      storeCall('list accounts', async () => {
        const rows = await db.selectFrom('accounts').select(ACCOUNT_COLUMNS).orderBy('name').execute();
        return rows.map(toAccount);
      }),

    remove: (name: string) =>
      storeCall('remove account', async () => {
        // SSH keys go with it (ON DELETE CASCADE); the history keeps the name as text.
        const result = await db.deleteFrom('accounts').where('name', '=', name).executeTakeFirst();
        if (result.numDeletedRows === 0n) throw accountNotFound(name);
      }),

    setPassword: (name: string, password: string) =>
      storeCall('set account password', async () => {
        const passwordHash = await hashPassword(checkPassword(password));
        const result = await db.updateTable('accounts').set({ password_hash: passwordHash }).where('name', '=', name).executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw accountNotFound(name);
      }),

    verifyPassword: (name: string, password: string) =>
      storeCall('verify account password', async () => {
        const row =
          typeof name === 'string' && name.length > 0 && name.length <= 64
            ? await db.selectFrom('accounts').select([...ACCOUNT_COLUMNS, 'password_hash']).where('name', '=', name).executeTakeFirst()
            : undefined;
        if (!row || typeof password !== 'string') {
          await rejectAfterHashing(String(password));
          return undefined;
        }
        // The hash is checked before `enabled`, so a disabled account costs the same time as any other.
        const passwordOk = await verifyPasswordHash(password, row.password_hash);
        return passwordOk && row.enabled === 1 ? toAccount(row) : undefined;
      }),

    addSshKey: (name: string, publicKeyLine: string) =>
      storeCall('add SSH key', async () => {
        const key = parsePublicKeyLine(publicKeyLine);
        const accountId = await idOf(name);
        // Adding a key twice is harmless: the first one stays, with its id and date.
        await db
          .insertInto('account_ssh_keys')
          .values({ account_id: accountId, public_key: key.line, fingerprint: key.fingerprint, created_at: new Date().toISOString() })
          .onConflict((oc) => oc.columns(['account_id', 'fingerprint']).doNothing())
          .execute();
        const row = await db
          .selectFrom('account_ssh_keys')
          .select(SSH_KEY_COLUMNS)
          .where('account_id', '=', accountId)
          .where('fingerprint', '=', key.fingerprint)
          .executeTakeFirstOrThrow();
        return toSshKey(row);
      }),

    sshKeys: (name: string) =>
      storeCall('list SSH keys', async () => {
        const accountId = await idOf(name);
        const rows = await db.selectFrom('account_ssh_keys').select(SSH_KEY_COLUMNS).where('account_id', '=', accountId).orderBy('id').execute();
        return rows.map(toSshKey);
      }),

    setEnabled: (name: string, enabled: boolean) =>
      storeCall('enable/disable account', async () => {
        const result = await db.updateTable('accounts').set({ enabled: enabled ? 1 : 0 }).where('name', '=', name).executeTakeFirst();
        if (result.numUpdatedRows === 0n) throw accountNotFound(name);
      }),
  };
}

function accountNotFound(name: string): FerryError {
  return new FerryError('FERRY_ERR_ACCOUNT_NOT_FOUND', `no account named "${name}"`, { details: { account: name } });
}

function toAccount(row: Pick<Selectable<AccountTable>, (typeof ACCOUNT_COLUMNS)[number]>): Account {
  return { id: row.id, name: row.name, home: row.home, enabled: row.enabled === 1, createdAt: row.created_at };
}

function toSshKey(row: Pick<Selectable<AccountSshKeyTable>, (typeof SSH_KEY_COLUMNS)[number]>): SshKey {
  return { id: row.id, publicKey: row.public_key, fingerprint: row.fingerprint, createdAt: row.created_at };
}

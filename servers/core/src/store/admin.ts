import { createHash, randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { FerryError } from '../errors.js';
import { checkName, checkPassword, checkText } from './checks.js';
import { isUniqueViolation, storeCall } from './guard.js';
import { hashPassword, rejectAfterHashing, verifyPasswordHash } from './password.js';
import type { AdminTokenTable, AdminUserTable, Database } from './schema.js';
import type { AdminToken, AdminTokenStore, AdminUser, AdminUserStore } from './types.js';

/** The prefix makes a leaked token recognisable to secret scanners and to people. */
export const ADMIN_TOKEN_PREFIX = 'fry_';
const TOKEN_BYTES = 32;
const MAX_LABEL_LENGTH = 200;
const TOKEN_COLUMNS = ['id', 'label', 'created_at'] as const;
const USER_COLUMNS = ['id', 'name', 'created_at'] as const;

/**
 * Admin API tokens. A token carries 256 random bits, so a plain SHA-256 is enough to store it (no
 * salt or slow hash needed: there is nothing to guess), and lookup by hash stays a single indexed read.
 */
export function adminTokenStore(db: Kysely<Database>): AdminTokenStore {
  return {
    create: (label: string) =>
      storeCall('create admin token', async () => {
        const checkedLabel = checkText('label', label, MAX_LABEL_LENGTH);
        const token = ADMIN_TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
        await db
          .insertInto('admin_tokens')
          .values({ label: checkedLabel, token_hash: sha256(token), created_at: new Date().toISOString() })
          .execute();
        return token;
      }),

    verify: (token: string) =>
      storeCall('verify admin token', async () => {
        if (typeof token !== 'string' || !token.startsWith(ADMIN_TOKEN_PREFIX)) return undefined;
        const row = await db.selectFrom('admin_tokens').select(['id', 'label']).where('token_hash', '=', sha256(token)).executeTakeFirst();
        return row && { id: row.id, label: row.label };
      }),

    list: () =>
      storeCall('list admin tokens', async () => {
        const rows = await db.selectFrom('admin_tokens').select(TOKEN_COLUMNS).orderBy('id').execute();
        return rows.map(toAdminToken);
      }),

    revoke: (id: number) =>
      storeCall('revoke admin token', async () => {
        if (!Number.isSafeInteger(id)) return false;
        const result = await db.deleteFrom('admin_tokens').where('id', '=', id).executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),
  };
}

/** Admin API users: same name rule and password hashing as transfer accounts, separate table. */
export function adminUserStore(db: Kysely<Database>): AdminUserStore {
  return {
    create: (name: string, password: string) =>
      storeCall('create admin user', async () => {
        const checkedName = checkName('admin user', name);
        const passwordHash = await hashPassword(checkPassword(password));
        try {
          const row = await db
            .insertInto('admin_users')
            .values({ name: checkedName, password_hash: passwordHash, created_at: new Date().toISOString() })
            .returning(USER_COLUMNS)
            .executeTakeFirstOrThrow();
          return toAdminUser(row);
        } catch (err) {
          if (isUniqueViolation(err)) {
            throw new FerryError('FERRY_ERR_ACCOUNT_EXISTS', `an admin user named "${checkedName}" already exists`, {
              cause: err,
              details: { adminUser: checkedName },
            });
          }
          throw err;
        }
      }),

    verify: (name: string, password: string) =>
      storeCall('verify admin user', async () => {
        const row =
          typeof name === 'string' && name.length > 0 && name.length <= 64
            ? await db.selectFrom('admin_users').select([...USER_COLUMNS, 'password_hash']).where('name', '=', name).executeTakeFirst()
            : undefined;
        if (!row || typeof password !== 'string') {
          await rejectAfterHashing(String(password));
          return undefined;
        }
        return (await verifyPasswordHash(password, row.password_hash)) ? toAdminUser(row) : undefined;
      }),

    list: () =>
      storeCall('list admin users', async () => {
        const rows = await db.selectFrom('admin_users').select(USER_COLUMNS).orderBy('name').execute();
        return rows.map(toAdminUser);
      }),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function toAdminToken(row: Pick<Selectable<AdminTokenTable>, (typeof TOKEN_COLUMNS)[number]>): AdminToken {
  return { id: row.id, label: row.label, createdAt: row.created_at };
}

function toAdminUser(row: Pick<Selectable<AdminUserTable>, (typeof USER_COLUMNS)[number]>): AdminUser {
  return { id: row.id, name: row.name, createdAt: row.created_at };
}

import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '@ferry/core';

export const ADMIN_TOKEN_FILE = 'admin.token';

/**
 * The first start creates an admin token and writes it to `<dataDir>/admin.token`, readable by its
 * owner only; the store keeps only its hash. A file whose token the store no longer knows (a new
 * database) is replaced.
 */
export async function ensureAdminToken(store: Store, dataDir: string): Promise<{ file: string; created: boolean }> {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  const existing = await readFile(file, 'utf8').then((text) => text.trim(), () => '');
  if (existing && (await store.adminTokens.verify(existing))) {
    await chmod(file, 0o600);
    return { file, created: false };
  }
  const token = await store.adminTokens.create('bootstrap (admin.token)');
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return { file, created: true };
}

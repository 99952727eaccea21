import { join, posix } from 'node:path';
import { FerryError, localStorage, type Storage, type Store, type StoredFile } from '@ferry/core';

/**
 * A file a job works on. With an account, `path` is a virtual path jailed to that account's home;
 * without one (`account: null`) it is an absolute host path, which only admin config or a daemon
 * that stores outside account homes (as2d's inboxes) can name.
 */
export type FileRef = StoredFile;

export interface OpenedFile {
  ref: FileRef;
  storage: Storage;
  /** Virtual path inside `storage`. */
  path: string;
}

export function isFileRef(value: unknown): value is FileRef {
  if (typeof value !== 'object' || value === null) return false;
  const ref = value as Record<string, unknown>;
  return (ref.account === null || typeof ref.account === 'string') && typeof ref.path === 'string' && ref.path.length > 0;
}

/** Opens files for jobs: the account's storage (its jail), or the host's for admin-named paths. */
export class FileAccess {
  /** Account storages for a few seconds: a routing runs several steps on one account in a row. */
  readonly #storages = new Map<string, { storage: Promise<Storage>; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly cacheMs = 5000,
  ) {}

  async open(ref: FileRef): Promise<OpenedFile> {
    if (ref.account === null) {
      if (!posix.isAbsolute(ref.path)) {
        throw new FerryError('FERRY_ERR_BAD_REQUEST', `a file without an account needs an absolute host path, not "${ref.path}"`, { details: { path: ref.path } });
      }
      return { ref, storage: await localStorage('/'), path: posix.normalize(ref.path) };
    }
    return { ref, storage: await this.#accountStorage(ref.account, ref.path), path: ref.path };
  }

  #accountStorage(name: string, path: string): Promise<Storage> {
    const now = Date.now();
    const cached = this.#storages.get(name);
    if (cached && cached.until > now) return cached.storage;
    const storage = (async () => {
      const account = await this.store.accounts.get(name);
      if (!account) throw new FerryError('FERRY_ERR_ACCOUNT_NOT_FOUND', `no account "${name}" (file ${path})`, { details: { account: name } });
      return localStorage(account.home);
    })();
    // A failure is not remembered: the next step asks again.
    storage.catch(() => this.#storages.delete(name));
    if (this.#storages.size > 1000) this.#storages.clear();
    this.#storages.set(name, { storage, until: now + this.cacheMs });
    return storage;
  }

  /**
   * The host path of a file, for tools that need one (outbound clients, commands). Resolved through
   * the jail first, so a symlink cannot lead a job out of the home.
   */
  async hostPath(file: OpenedFile): Promise<string> {
    const real = await file.storage.realpath(file.path);
    return join(file.storage.home, real);
  }
}

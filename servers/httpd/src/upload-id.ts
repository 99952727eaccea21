import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FerryError } from '@ferry/core';

/** The HMAC key of tus upload ids, created on first start, readable by its owner only. */
export const SECRET_FILE = 'httpd.secret';
const SECRET_BYTES = 32;
const MAC_BYTES = 18;
const FORMAT = 1;

/** What a tus upload id carries: enough to find the partial again after a restart, nothing stored. */
export interface UploadTicket {
  account: string;
  /** Virtual target path in the account home. */
  path: string;
  /** Upload-Length. */
  length: number;
  /** Seconds since the epoch (makes two uploads of the same target differ). */
  createdAt: number;
}

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

async function loadSecret(dataDir: string): Promise<Buffer> {
  const file = join(dataDir, SECRET_FILE);
  await mkdir(dataDir, { recursive: true });
  try {
    await writeFile(file, `${randomBytes(SECRET_BYTES).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if (errnoOf(err) !== 'EEXIST') throw err;
  }
  await chmod(file, 0o600);
  const key = Buffer.from((await readFile(file, 'utf8')).trim(), 'hex');
  if (key.length < 16) {
    throw new FerryError('FERRY_ERR_CONFIG_INVALID', `${SECRET_FILE} in the data directory holds no usable key: delete it to have a new one made`, {
      details: { key: 'dataDir', file: SECRET_FILE },
    });
  }
  return key;
}

/**
 * tus upload ids are stateless: `<payload>.<mac>`, both base64url, where the payload names account,
 * target path, length and creation time and the mac is an HMAC-SHA256 of it under the node's
 * secret. The offset is never in the id: it is the size of the partial file.
 */
export class UploadIds {
  private constructor(private readonly key: Buffer) {}

  static async load(dataDir: string): Promise<UploadIds> {
    return new UploadIds(await loadSecret(dataDir));
  }

  issue(ticket: Omit<UploadTicket, 'createdAt'>): string {
    const payload = Buffer.from(JSON.stringify([FORMAT, ticket.account, ticket.path, ticket.length, Math.floor(Date.now() / 1000)])).toString(
      'base64url',
    );
    return `${payload}.${this.#mac(payload).toString('base64url')}`;
  }

  /** The ticket, or undefined for an id this node did not issue (or that was altered). */
  verify(id: string): UploadTicket | undefined {
    const dot = id.indexOf('.');
    if (dot <= 0) return undefined;
    const payload = id.slice(0, dot);
    const given = Buffer.from(id.slice(dot + 1), 'base64url');
    const expected = this.#mac(payload);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (!Array.isArray(value) || value[0] !== FORMAT) return undefined;
    const [, account, path, length, createdAt] = value as unknown[];
    if (typeof account !== 'string' || typeof path !== 'string' || !Number.isSafeInteger(length) || !Number.isSafeInteger(createdAt)) {
      return undefined;
    }
    return { account, path, length: length as number, createdAt: createdAt as number };
  }

  #mac(payload: string): Buffer {
    return createHmac('sha256', this.key).update(payload).digest().subarray(0, MAC_BYTES);
  }
}

import { createHash } from 'node:crypto';
import { badRequest } from './checks.js';

/** Key types an OpenSSH server accepts today (DSA is gone from OpenSSH and is refused here too). */
const KEY_TYPES = new Set([
  'ssh-ed25519',
  'ssh-rsa',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
]);

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const MAX_LINE = 16 * 1024;

export interface ParsedPublicKey {
  /** `<type> <base64>[ <comment>]`, whitespace normalised. */
  line: string;
  fingerprint: string;
}

/**
 * Checks one OpenSSH public key line (`ssh-ed25519 AAAA… comment`, as in `id_ed25519.pub`): a known
 * type, and a base64 blob that starts with that same type, which catches truncated or pasted-wrong
 * keys when they are added rather than at the first failed login. authorized_keys options
 * (`from="…" ssh-…`) are refused: access rules belong to the account, not to a key line.
 */
export function parsePublicKeyLine(input: unknown): ParsedPublicKey {
  if (typeof input !== 'string' || input.length > MAX_LINE || /[\r\n\0]/.test(input.trim())) {
    throw badRequest('an SSH public key is one line: "<type> <base64> [comment]"', { field: 'publicKey' });
  }
  const [type = '', data = '', ...comment] = input.trim().split(/\s+/);
  if (!KEY_TYPES.has(type)) {
    throw badRequest(`SSH key type "${type}" is not supported; allowed: ${[...KEY_TYPES].join(', ')}`, { field: 'publicKey', allowed: [...KEY_TYPES] });
  }
  const blob = BASE64.test(data) ? Buffer.from(data, 'base64') : Buffer.alloc(0);
  if (blob.length < 4 || blob.readUInt32BE(0) !== type.length || blob.subarray(4, 4 + type.length).toString('latin1') !== type) {
    throw badRequest(`the SSH key data is not a valid ${type} public key`, { field: 'publicKey' });
  }
  const fingerprint = `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
  return { line: [type, data, ...comment].join(' '), fingerprint };
}

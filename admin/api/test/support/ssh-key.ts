import { generateKeyPairSync } from 'node:crypto';

/** A fresh `ssh-ed25519 AAAA… comment` line, as in an id_ed25519.pub file. */
export function ed25519PublicKeyLine(comment = 'test@ferry'): string {
  const der = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' });
  const raw = der.subarray(der.length - 32);
  const field = (data: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, data.length]), data]);
  const blob = Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]);
  return `ssh-ed25519 ${blob.toString('base64')} ${comment}`;
}

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseCertificate, parsePrivateKey, type Certificate, type Identity } from '../src/index.js';

const exec = promisify(execFile);

/** Runs the openssl binary; stdout as a Buffer. */
export async function openssl(args: string[], options: { input?: Buffer } = {}): Promise<Buffer> {
  if (options.input === undefined) {
    const { stdout } = await exec('openssl', args, { encoding: 'buffer', maxBuffer: 1 << 30 });
    return stdout;
  }
  return new Promise((resolve, reject) => {
    const child = execFile('openssl', args, { encoding: 'buffer', maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openssl ${args.join(' ')}: ${String(stderr)}`));
      else resolve(stdout);
    });
    child.stdin!.end(options.input);
  });
}

export interface TestParty {
  id: string;
  certFile: string;
  keyFile: string;
  certificate: Certificate;
  identity: Identity;
}

/** A self-signed RSA 2048 certificate and key made by openssl, as a trading partner would have. */
export async function makeParty(dir: string, id: string): Promise<TestParty> {
  const certFile = join(dir, `${id}.crt`);
  const keyFile = join(dir, `${id}.key`);
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '30', '-subj', `/CN=${id}/O=Ferry test`]);
  const certificate = parseCertificate(await readFile(certFile));
  return { id, certFile, keyFile, certificate, identity: { certificate, privateKey: parsePrivateKey(await readFile(keyFile)) } };
}

/** Splits openssl's S/MIME output into its top-level headers and its body (what curl would POST). */
export function splitSmime(smime: Buffer): { headers: Record<string, string>; body: Buffer } {
  let end = smime.indexOf('\n\n');
  let skip = 2;
  const crlf = smime.indexOf('\r\n\r\n');
  if (crlf !== -1 && (end === -1 || crlf < end)) {
    end = crlf;
    skip = 4;
  }
  const headers: Record<string, string> = {};
  const text = smime.subarray(0, end).toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: smime.subarray(end + skip) };
}

/**
 * The two parts of a multipart/signed S/MIME text: the signed content exactly as framed (CRLF before
 * the boundary belongs to the boundary) and the DER signature. OpenSSL's own S/MIME reader frames
 * binary parts with a bare LF, so binary content is verified detached: `openssl cms -verify
 * -binary -inform DER -in sig.der -content content.bin`.
 */
export function detachedParts(smime: Buffer): { content: Buffer; signature: Buffer } {
  const { headers, body } = splitSmime(smime);
  const boundary = /boundary="?([^";]+)"?/.exec(headers['content-type'] ?? '')?.[1];
  if (!boundary) throw new Error('no boundary');
  const open = Buffer.from(`--${boundary}\r\n`);
  const delimiter = Buffer.from(`\r\n--${boundary}\r\n`);
  const start = body.indexOf(open) + open.length;
  const end = body.indexOf(delimiter, start);
  const content = body.subarray(start, end);
  const sigPart = body.subarray(end + delimiter.length);
  const sigBody = sigPart.subarray(sigPart.indexOf('\r\n\r\n') + 4, sigPart.indexOf(`--${boundary}--`));
  return { content, signature: Buffer.from(sigBody.toString('latin1').replace(/\s+/g, ''), 'base64') };
}

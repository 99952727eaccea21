import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { As2Failure, MimeHeaders, mdnMessage, pack, parseCertificate, unpack, type Entity, type PackOptions } from '../src/index.js';
import { detachedParts, makeParty, openssl, splitSmime, type TestParty } from './pki.js';

let dir: string;
let alice: TestParty; // the partner (OpenSSL)
let ferry: TestParty; // us
let mallory: TestParty;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ferry-as2-cms-'));
  [alice, ferry, mallory] = await Promise.all([makeParty(dir, 'alice'), makeParty(dir, 'ferry'), makeParty(dir, 'mallory')]);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Feeds `data` in chunks of random sizes, to catch anything that assumes where chunks end. */
async function* chunked(data: Buffer, max = 4096): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; ) {
    const n = 1 + Math.floor(Math.random() * max);
    yield data.subarray(at, at + n);
    at += n;
  }
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

interface Received {
  headers: MimeHeaders;
  data: Buffer;
}

async function receive(headers: Record<string, string>, body: Buffer, extra: { micAlgorithm?: 'sha1' | 'sha-256'; partner?: TestParty } = {}) {
  const outer: Entity = { headers: MimeHeaders.fromHttp(headers), rawHeaders: Buffer.alloc(0), body: chunked(body) };
  return unpack<Received>(outer, {
    identity: ferry.identity,
    partnerCertificates: [(extra.partner ?? alice).certificate],
    micAlgorithm: extra.micAlgorithm,
    maxContentBytes: 1 << 30,
    deliver: async (entity) => ({ headers: entity.headers, data: await collect(entity.body) }),
  });
}

function entity(payload: Buffer, type = 'application/edi-x12'): Buffer {
  return Buffer.concat([Buffer.from(`Content-Type: ${type}\r\nContent-Transfer-Encoding: binary\r\nContent-Disposition: attachment; filename="order 1.edi"\r\n\r\n`), payload]);
}

function sha(data: Buffer, alg = 'sha256'): string {
  return createHash(alg).update(data).digest('base64');
}

async function file(name: string, data: Buffer): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

describe('receiving what OpenSSL builds', () => {
  it('verifies a detached signature (binary) and returns the MIC of the signed entity', async () => {
    const signed = entity(randomBytes(200_000));
    const smime = await openssl(['cms', '-sign', '-binary', '-md', 'sha256', '-signer', alice.certFile, '-inkey', alice.keyFile, '-in', await file('s1.mime', signed)]);
    const { headers, body } = splitSmime(smime);
    const out = await receive(headers, body);
    expect(out.result.data.equals(signed.subarray(signed.indexOf('\r\n\r\n') + 4))).toBe(true);
    expect(out.result.headers.get('content-type')).toBe('application/edi-x12');
    expect(out.trace.signature?.digest).toBe('sha-256');
    expect(out.mic).toEqual({ value: sha(signed), algorithm: 'sha-256' });
  });

  it('verifies binary content ending in CR under OpenSSL\'s bare-LF framing (the CR is content there)', async () => {
    const signed = entity(Buffer.concat([randomBytes(1000), Buffer.from('\r')]));
    const smime = await openssl(['cms', '-sign', '-binary', '-signer', alice.certFile, '-inkey', alice.keyFile, '-in', await file('cr.mime', signed)]);
    const { headers, body } = splitSmime(smime);
    const out = await receive(headers, body);
    expect(out.mic.value).toBe(sha(signed));
    expect(out.result.data.at(-1)).toBe(0x0d);
  });

  it('verifies RSA-PSS, ECDSA and attribute-less signatures', async () => {
    const signed = entity(randomBytes(5000));
    const path = await file('v.mime', signed);
    const ecKey = join(dir, 'ec.key');
    const ecCert = join(dir, 'ec.crt');
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ecKey, '-out', ecCert, '-days', '2', '-subj', '/CN=ec']);
    const ec = parseCertificate(await readFile(ecCert));
    const variants: [string[], TestParty['certificate'], 'sha256' | 'sha384'][] = [
      [['-signer', alice.certFile, '-inkey', alice.keyFile, '-keyopt', 'rsa_padding_mode:pss'], alice.certificate, 'sha256'],
      [['-signer', alice.certFile, '-inkey', alice.keyFile, '-noattr'], alice.certificate, 'sha256'],
      [['-signer', ecCert, '-inkey', ecKey, '-md', 'sha384'], ec, 'sha384'],
    ];
    for (const [args, certificate, digest] of variants) {
      const smime = await openssl(['cms', '-sign', '-binary', ...args, '-in', path]);
      const { headers, body } = splitSmime(smime);
      const out = await unpack<Received>(
        { headers: MimeHeaders.fromHttp(headers), rawHeaders: Buffer.alloc(0), body: chunked(body) },
        { partnerCertificates: [certificate], maxContentBytes: 1 << 20, deliver: async (e) => ({ headers: e.headers, data: await collect(e.body) }) },
      );
      expect(out.trace.signature, args.join(' ')).toBeDefined();
      expect(out.mic.value).toBe(sha(signed, digest));
    }
  });

  it('verifies a text-mode signature (OpenSSL canonicalizes to CRLF) and a SHA-1 micalg', async () => {
    const text = Buffer.from('Content-Type: text/plain\n\nUNB+UNOA:2+SENDER+RECEIVER\nUNZ+1\n');
    const smime = await openssl(['cms', '-sign', '-md', 'sha1', '-signer', alice.certFile, '-inkey', alice.keyFile, '-in', await file('s2.mime', text)]);
    const { headers, body } = splitSmime(smime);
    const out = await receive(headers, body, { micAlgorithm: 'sha1' });
    expect(out.result.data.toString()).toBe('UNB+UNOA:2+SENDER+RECEIVER\r\nUNZ+1\r\n');
    const canonical = Buffer.from(text.toString().replace(/\n/g, '\r\n'));
    expect(out.mic).toEqual({ value: sha(canonical, 'sha1'), algorithm: 'sha1' });
  });

  const ciphers = [
    ['-aes128', 'aes128-cbc'],
    ['-aes192', 'aes192-cbc'],
    ['-aes256', 'aes256-cbc'],
    ['-des3', '3des'],
    ['-aes-128-gcm', 'aes128-gcm'],
    ['-aes-256-gcm', 'aes256-gcm'],
  ] as const;
  for (const [flag, name] of ciphers) {
    for (const transport of ['default', 'oaep'] as const) {
      it(`decrypts ${name} with ${transport === 'oaep' ? 'RSA-OAEP' : 'RSA PKCS#1 v1.5'} key transport`, async () => {
        const inner = entity(randomBytes(70_001));
        const recipient = transport === 'oaep' ? ['-recip', ferry.certFile, '-keyopt', 'rsa_padding_mode:oaep'] : [ferry.certFile];
        const der = await openssl(['cms', '-encrypt', '-binary', flag, '-outform', 'DER', '-in', await file(`e-${name}.mime`, inner), ...recipient]);
        const smimeType = name.endsWith('gcm') ? 'authEnveloped-data' : 'enveloped-data';
        const out = await receive({ 'content-type': `application/pkcs7-mime; smime-type=${smimeType}; name=smime.p7m` }, der);
        expect(out.trace.encryption).toEqual({ encryption: name, keyTransport: transport === 'oaep' ? 'rsa-oaep' : 'rsa-pkcs1' });
        expect(out.result.data.equals(inner.subarray(inner.indexOf('\r\n\r\n') + 4))).toBe(true);
        // Encrypted, unsigned: the MIC covers the decrypted entity.
        expect(out.mic.value).toBe(sha(inner));
      });
    }
  }

  it('decrypts OAEP with SHA-256 and base64 S/MIME output (streamed, indefinite lengths)', async () => {
    const inner = entity(randomBytes(300_000));
    const smime = await openssl(['cms', '-encrypt', '-binary', '-stream', '-aes256', '-in', await file('e-oaep256.mime', inner), '-recip', ferry.certFile, '-keyopt', 'rsa_padding_mode:oaep', '-keyopt', 'rsa_oaep_md:sha256']);
    const { headers, body } = splitSmime(smime);
    const out = await receive(headers, body);
    expect(out.trace.encryption).toEqual({ encryption: 'aes256-cbc', keyTransport: 'rsa-oaep-sha256' });
    expect(out.result.data.length).toBe(300_000);
  });

  it('decrypts and verifies a signed-then-encrypted message; the MIC is that of the signed entity', async () => {
    const signed = entity(randomBytes(500_000));
    const smime = await openssl(['cms', '-sign', '-binary', '-md', 'sha256', '-signer', alice.certFile, '-inkey', alice.keyFile, '-in', await file('se.mime', signed)]);
    const der = await openssl(['cms', '-encrypt', '-binary', '-aes256', '-outform', 'DER', '-in', await file('se.smime', smime), ferry.certFile]);
    const out = await receive({ 'content-type': 'application/pkcs7-mime; smime-type=enveloped-data' }, der);
    expect(out.trace.signature?.digest).toBe('sha-256');
    expect(out.trace.encryption?.encryption).toBe('aes256-cbc');
    expect(out.mic.value).toBe(sha(signed));
    expect(out.result.data.length).toBe(500_000);
  });

  it('refuses a signature by another certificate, altered content, and a message not encrypted for us', async () => {
    const signed = entity(Buffer.from('original'));
    const byMallory = await openssl(['cms', '-sign', '-binary', '-signer', mallory.certFile, '-inkey', mallory.keyFile, '-in', await file('m.mime', signed)]);
    const a = splitSmime(byMallory);
    await expect(receive(a.headers, a.body)).rejects.toMatchObject({ kind: 'authentication-failed' });

    const byAlice = splitSmime(await openssl(['cms', '-sign', '-binary', '-signer', alice.certFile, '-inkey', alice.keyFile, '-in', await file('a.mime', signed)]));
    const altered = Buffer.from(byAlice.body.toString('latin1').replace('original', 'origina1'), 'latin1');
    await expect(receive(byAlice.headers, altered)).rejects.toMatchObject({ kind: 'integrity-check-failed' });

    const forMallory = await openssl(['cms', '-encrypt', '-binary', '-aes128', '-outform', 'DER', '-in', await file('x.mime', signed), mallory.certFile]);
    const err = await receive({ 'content-type': 'application/pkcs7-mime; smime-type=enveloped-data' }, forMallory).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(As2Failure);
    expect((err as As2Failure).kind).toBe('decryption-failed');
  });

  it('reports a truncated envelope as decryption-failed', async () => {
    const der = await openssl(['cms', '-encrypt', '-binary', '-aes128', '-outform', 'DER', '-in', await file('t.mime', entity(randomBytes(10_000))), ferry.certFile]);
    await expect(receive({ 'content-type': 'application/pkcs7-mime; smime-type=enveloped-data' }, der.subarray(0, der.length - 100))).rejects.toMatchObject({
      kind: 'decryption-failed',
    });
  });
});

describe('what Ferry builds, read by OpenSSL', () => {
  async function build(options: Omit<PackOptions, 'payload'>, payload: Buffer) {
    const packed = pack({ ...options, payload: chunked(payload, 65536) });
    const body = await collect(packed.body);
    const headers = Object.fromEntries(packed.headers.map(([n, v]) => [n.toLowerCase(), v]));
    return { headers, body, mic: packed.mic() };
  }

  it('signs and encrypts (AES-256-CBC, PKCS#1 v1.5): openssl decrypts and verifies; the MIC matches', async () => {
    const payload = randomBytes(1_000_000);
    const sent = await build({ filename: 'big.bin', sign: { identity: ferry.identity, digest: 'sha-256' }, encrypt: { recipient: alice.certificate, encryption: 'aes256-cbc', keyTransport: 'rsa-pkcs1' } }, payload);
    const decrypted = await openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-inkey', alice.keyFile, '-recip', alice.certFile, '-in', await file('f1.der', sent.body)]);
    const { content, signature } = detachedParts(decrypted);
    const verified = await openssl(['cms', '-verify', '-binary', '-inform', 'DER', '-in', await file('f1.p7s', signature), '-content', await file('f1.content', content), '-CAfile', ferry.certFile]);
    expect(verified.equals(content)).toBe(true);
    expect(content.subarray(content.indexOf('\r\n\r\n') + 4).equals(payload)).toBe(true);
    expect(sent.mic.value).toBe(sha(content));
  });

  for (const [encryption, keyTransport, flagCheck] of [
    ['aes128-gcm', 'rsa-oaep', 'id-smime-ct-authEnvelopedData'],
    ['3des', 'rsa-oaep-sha256', 'des-ede3-cbc'],
    ['aes192-cbc', 'rsa-pkcs1', 'aes-192-cbc'],
  ] as const) {
    it(`encrypts ${encryption} with ${keyTransport} so that openssl decrypts it`, async () => {
      const payload = randomBytes(123_457);
      const sent = await build({ encrypt: { recipient: alice.certificate, encryption, keyTransport } }, payload);
      const path = await file(`f-${encryption}.der`, sent.body);
      const structure = (await openssl(['asn1parse', '-inform', 'DER', '-in', path])).toString();
      expect(structure).toContain(flagCheck);
      const decrypted = await openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-inkey', alice.keyFile, '-recip', alice.certFile, '-in', path]);
      expect(decrypted.subarray(decrypted.indexOf('\r\n\r\n') + 4).equals(payload)).toBe(true);
      expect(sent.mic.value).toBe(sha(decrypted));
    });
  }

  it('signs alone: the body is multipart/signed that openssl verifies as S/MIME', async () => {
    const payload = Buffer.from('ISA*00*~\r\nIEA*1*000000001~\r\n');
    const sent = await build({ contentType: 'application/edi-x12', sign: { identity: ferry.identity, digest: 'sha-512' } }, payload);
    const smime = Buffer.concat([Buffer.from(`Content-Type: ${sent.headers['content-type']}\r\n\r\n`), sent.body]);
    // Text mode: CRLF text, as EDI is, reads the same canonicalized or not.
    const verified = await openssl(['cms', '-verify', '-CAfile', ferry.certFile, '-in', await file('f2.smime', smime)]);
    expect(verified.toString()).toContain('IEA*1*000000001~');
    expect(sent.mic.value).toBe(sha(detachedParts(smime).content, 'sha512'));
    expect(sent.headers['content-type']).toContain('micalg=sha-512');
  });

  it('signs an MDN that openssl verifies', async () => {
    const mdn = mdnMessage(
      { finalRecipient: 'FERRY', originalMessageId: '<m1@alice>', disposition: { type: 'processed' }, mic: { value: 'abc=', algorithm: 'sha-256' }, text: 'received' },
      { identity: ferry.identity, digest: 'sha-256' },
    );
    const type = mdn.headers.find(([n]) => n === 'Content-Type')![1];
    const smime = Buffer.concat([Buffer.from(`Content-Type: ${type}\r\n\r\n`), mdn.body]);
    const verified = await openssl(['cms', '-verify', '-CAfile', ferry.certFile, '-in', await file('mdn.smime', smime)]);
    expect(verified.toString()).toContain('Received-Content-MIC: abc=, sha-256');
    expect(verified.toString()).toContain('Disposition: automatic-action/MDN-sent-automatically; processed');
  });
});

describe('Ferry to Ferry', () => {
  for (const compress of ['before-signing', 'after-signing'] as const) {
    it(`compresses ${compress}, signs and encrypts, and reads it back with the same MIC`, async () => {
      const payload = Buffer.concat([Buffer.alloc(200_000, 'EDI segment~\r\n'), randomBytes(50_000)]);
      const packed = pack({ payload: chunked(payload, 30_000), filename: 'x.edi', compress, sign: { identity: alice.identity, digest: 'sha-384' }, encrypt: { recipient: ferry.certificate, encryption: 'aes128-gcm', keyTransport: 'rsa-pkcs1' } });
      const body = await collect(packed.body);
      expect(body.length).toBeLessThan(payload.length);
      const headers = Object.fromEntries(packed.headers.map(([n, v]) => [n.toLowerCase(), v]));
      const out = await receive(headers, body);
      expect(out.result.data.equals(payload)).toBe(true);
      expect(out.trace.compressed).toBe(true);
      expect(out.trace.signature?.digest).toBe('sha-384');
      expect(out.mic).toEqual(packed.mic());
    });
  }

  it('sends plain and compressed-only messages with a MIC over the body', async () => {
    for (const compress of [undefined, 'before-signing'] as const) {
      const payload = randomBytes(10_000);
      const packed = pack({ payload: chunked(payload), ...(compress ? { compress } : {}) });
      const body = await collect(packed.body);
      const headers = Object.fromEntries(packed.headers.map(([n, v]) => [n.toLowerCase(), v]));
      const out = await receive(headers, body);
      expect(out.result.data.equals(payload)).toBe(true);
      expect(out.mic).toEqual(packed.mic());
      expect(out.mic.value).toBe(sha(body));
    }
  });
});

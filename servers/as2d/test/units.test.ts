import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ByteReader } from '../src/as2/bytes.js';
import { decodeBase64 } from '../src/as2/base64.js';
import { unpadPkcs1 } from '../src/as2/key-transport.js';
import { formatDisposition, mdnRequestOf, parseDisposition } from '../src/as2/mdn.js';
import { MimeHeaders, parseHeaderValue, readEntity } from '../src/as2/mime.js';
import { MultipartReader } from '../src/as2/multipart.js';
import { payloadName } from '../src/inbox.js';
import { quoteAs2Id } from '../src/index.js';
import { unquoteAs2Id } from '../src/as2/as2-headers.js';

async function* pieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let at = 0;
  for (let i = 0; at < data.length; i++) {
    const n = sizes[i % sizes.length]!;
    yield data.subarray(at, at + n);
    at += n;
  }
}

async function all(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

describe('ByteReader', () => {
  it('finds a delimiter split across chunks, and leaves out the CR before it when asked', async () => {
    const data = Buffer.from('part one\r\n--b\r\nrest');
    for (const size of [1, 2, 3, 5, 7, 100]) {
      const reader = new ByteReader(pieces(data, [size]));
      const gen = reader.until(Buffer.from('\n--b'), 'x', true);
      const content = await all(gen);
      expect(content.toString(), `chunks of ${size}`).toBe('part one');
      expect((await reader.read(4)).toString()).toBe('\n--b');
      expect((await all(reader.rest())).toString()).toBe('\r\nrest');
    }
  });

  it('reports a truncated input', async () => {
    const reader = new ByteReader(pieces(Buffer.from('abc'), [1]));
    await expect(reader.read(5, 'a header')).rejects.toThrow('ends in the middle of a header');
  });
});

describe('MIME', () => {
  it('reads header blocks: folded lines, bare LF, none at all', async () => {
    const folded = await readEntity(new ByteReader(pieces(Buffer.from('Content-Type: multipart/signed;\r\n\tboundary="a b"\r\nX: 1\r\n\r\nbody'), [3])));
    expect(folded.headers.get('content-type')).toBe('multipart/signed; boundary="a b"');
    expect(parseHeaderValue(folded.headers.get('content-type')!).params.get('boundary')).toBe('a b');
    expect((await all(folded.body)).toString()).toBe('body');
    const lf = await readEntity(new ByteReader(pieces(Buffer.from('A: 1\nB: 2\n\nx'), [4])));
    expect([lf.headers.get('a'), lf.headers.get('b')]).toEqual(['1', '2']);
    const none = await readEntity(new ByteReader(pieces(Buffer.from('\r\nonly body'), [100])));
    expect(none.headers.entries).toEqual([]);
    expect(none.rawHeaders.toString()).toBe('\r\n');
  });

  it('parses parameters: quoted, escaped, RFC 2231', () => {
    const value = parseHeaderValue(`attachment; filename="a \\"b\\".edi"; filename*=UTF-8''na%C3%AFve.edi; size=3`);
    expect(value.value).toBe('attachment');
    expect(value.params.get('filename')).toBe('naïve.edi');
    expect(value.params.get('size')).toBe('3');
    expect(parseHeaderValue('Application/EDI-X12').value).toBe('application/edi-x12');
  });

  it('reads multipart parts framed with CRLF or bare LF, with a preamble', async () => {
    const crlf = Buffer.from('preamble\r\n--b\r\nA: 1\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepilogue');
    const lf = Buffer.from('--b\nA: 1\r\n\r\none\r\n\n--b\n\ntwo\n--b--\n');
    for (const [name, data, first] of [
      ['crlf', crlf, 'A: 1\r\n\r\none'],
      ['lf', lf, 'A: 1\r\n\r\none\r\n'],
    ] as const) {
      const parts = new MultipartReader(pieces(data, [3, 11]), 'b');
      expect((await all((await parts.nextPart())!)).toString(), name).toBe(first);
      const second = await parts.nextSmallPart('second');
      expect(second?.body.toString()).toBe('two');
      expect(await parts.nextPart()).toBeNull();
      await parts.finish();
    }
  });

  it('does not take a longer boundary that starts like ours for ours', async () => {
    const data = Buffer.from('--b\r\n\r\nouter\r\n--bx\r\ninner\r\n--b\r\n\r\nsig\r\n--b--\r\n');
    for (const size of [1, 4, 100]) {
      const parts = new MultipartReader(pieces(data, [size]), 'b');
      expect((await all((await parts.nextPart())!)).toString()).toBe('\r\nouter\r\n--bx\r\ninner');
      expect((await parts.nextSmallPart('sig'))?.body.toString()).toBe('sig');
      expect(await parts.nextPart()).toBeNull();
    }
  });

  it('decodes base64 in any chunking, and refuses what is not base64', async () => {
    const data = randomBytes(1000);
    const text = Buffer.from(data.toString('base64').replace(/.{76}/g, '$&\r\n'));
    expect((await all(decodeBase64(pieces(text, [1, 5, 77])))).equals(data)).toBe(true);
    await expect(all(decodeBase64(pieces(Buffer.from('abc$def'), [100])))).rejects.toThrow('not valid base64');
  });
});

describe('PKCS#1 v1.5 unpadding (implicit rejection)', () => {
  const key = randomBytes(32);
  const block = (mutate?: (b: Buffer) => void): Buffer => {
    const b = Buffer.concat([Buffer.from([0, 2]), Buffer.alloc(256 - 3 - 32, 0x5a), Buffer.from([0]), key]);
    mutate?.(b);
    return b;
  };

  it('returns the key from a well-formed block', () => {
    expect(unpadPkcs1(block(), 32).equals(key)).toBe(true);
  });

  it('returns a random key of the right length from a bad block, never the embedded one', () => {
    for (const bad of [
      block((b) => (b[0] = 1)),
      block((b) => (b[1] = 1)),
      block((b) => b.fill(0x5a, 2, 256 - 32)), // no separator
      block((b) => (b[5] = 0)), // separator too early: padding under 8 bytes
    ]) {
      const out = unpadPkcs1(bad, 32);
      expect(out).toHaveLength(32);
      expect(out.equals(key)).toBe(false);
    }
    expect(unpadPkcs1(block(), 16)).toHaveLength(16);
    expect(unpadPkcs1(block(), 16).equals(key.subarray(16))).toBe(false);
  });
});

describe('AS2 headers and MDN fields', () => {
  it('quotes AS2 ids with spaces, and reads them back', () => {
    expect(quoteAs2Id('ACME')).toBe('ACME');
    expect(quoteAs2Id('Acme Corp')).toBe('"Acme Corp"');
    expect(unquoteAs2Id('"Acme \\"X\\" Corp"')).toBe('Acme "X" Corp');
  });

  it('reads what a message asks for', () => {
    const ask = (headers: Record<string, string>) => mdnRequestOf(MimeHeaders.fromHttp(headers));
    expect(ask({})).toBeNull();
    expect(ask({ 'disposition-notification-to': 'x' })).toEqual({ signed: false, micAlgorithm: undefined, asyncUrl: undefined });
    expect(
      ask({
        'disposition-notification-to': 'x',
        'disposition-notification-options': 'signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, md5, SHA1, sha-256',
        'receipt-delivery-option': 'https://partner/mdn',
      }),
    ).toEqual({ signed: true, micAlgorithm: 'sha1', asyncUrl: 'https://partner/mdn' });
  });

  it('formats and parses dispositions', () => {
    const text = 'automatic-action/MDN-sent-automatically; processed/error: decryption-failed';
    expect(formatDisposition(parseDisposition(text))).toBe(text);
    expect(parseDisposition('automatic-action/MDN-sent-automatically; processed')).toEqual({ type: 'processed' });
    expect(parseDisposition('garbage').type).toBe('failed');
  });

  it('names payloads safely', () => {
    const named = (disposition: string, id = '<abc@x>') => payloadName(MimeHeaders.fromHttp({ 'content-disposition': disposition }), id);
    expect(named('attachment; filename="../../etc/passwd"')).toBe('passwd');
    expect(named('attachment; filename="C:\\\\temp\\\\x.edi"')).toBe('x.edi');
    expect(named('attachment; filename=".hidden"')).toBe('hidden');
    expect(named('attachment; filename="a\u0001b.edi"')).toBe('ab.edi');
    expect(named('attachment; filename=".."')).toBe('message-abc@x');
    expect(named('inline', '<a/b@x>')).toBe('message-b@x');
  });
});

import { As2Failure } from './errors.js';

const ALPHABET = /^[A-Za-z0-9+/]*={0,2}$/;
const WHITESPACE = /[\t\n\r ]+/g;

/** Streaming base64 decoding of a body sent with `Content-Transfer-Encoding: base64` (line breaks allowed). */
export async function* decodeBase64(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry = '';
  let padded = false;
  for await (const chunk of source) {
    const text = carry + chunk.toString('latin1').replace(WHITESPACE, '');
    if (text.length === 0) continue;
    if (padded || !ALPHABET.test(text)) throw invalid();
    padded = text.endsWith('=');
    const usable = text.length - (text.length % 4);
    carry = text.slice(usable);
    if (usable > 0) yield Buffer.from(text.slice(0, usable), 'base64');
  }
  if (carry.length > 0) {
    if (carry.length === 1) throw invalid();
    yield Buffer.from(carry, 'base64');
  }
}

function invalid(): As2Failure {
  return new As2Failure('unexpected-processing-error', 'the body is declared base64 but is not valid base64');
}

/** Base64 in lines of 76 characters, CRLF-terminated, as MIME bodies carry it. */
export function base64Lines(data: Buffer): string {
  const text = data.toString('base64');
  const lines: string[] = [];
  for (let at = 0; at < text.length; at += 76) lines.push(text.slice(at, at + 76));
  return `${lines.join('\r\n')}\r\n`;
}

import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDeflate, createInflate } from 'node:zlib';
import * as asn1js from 'asn1js';
import type { ByteReader } from './bytes.js';
import { closeContainer, EOC, expectHeader, header, octets, readElement, readHeader, TAG } from './der.js';
import { As2Failure, failureOf } from './errors.js';
import { OID } from './oids.js';

/**
 * CMS CompressedData (RFC 3274) with zlib, as AS2 uses it (RFC 5402), streamed both ways.
 *
 *   ContentInfo { id-ct-compressedData, [0] CompressedData {
 *     version 0, compressionAlgorithm { id-alg-zlibCompress },
 *     encapContentInfo { id-data, [0] EXPLICIT OCTET STRING } } }
 */

const SEGMENT = 1 << 20;
const MAX_SMALL = 64 * 1024;

function der(block: { toBER(): ArrayBuffer }): Buffer {
  return Buffer.from(block.toBER());
}

/** Wraps a stream in BER CompressedData. */
export async function* compressToCms(content: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  yield Buffer.concat([
    header(TAG.sequence, null),
    der(new asn1js.ObjectIdentifier({ value: OID.compressedData })),
    header(TAG.context0, null),
    header(TAG.sequence, null),
    der(new asn1js.Integer({ value: 0 })),
    der(new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.zlibCompress })] })),
    header(TAG.sequence, null),
    der(new asn1js.ObjectIdentifier({ value: OID.data })),
    header(TAG.context0, null),
    header(TAG.constructedOctetString, null),
  ]);
  const deflate = createDeflate({ chunkSize: SEGMENT });
  const feeding = pipeline(Readable.from(content), deflate);
  feeding.catch(() => undefined);
  for await (const chunk of deflate as AsyncIterable<Buffer>) yield Buffer.concat([header(TAG.octetString, chunk.length), chunk]);
  await feeding;
  // Close: the OCTET STRING, [0], encapContentInfo, CompressedData, [0], ContentInfo.
  yield Buffer.concat([EOC, EOC, EOC, EOC, EOC, EOC]);
}

/** Reads a CompressedData and streams the decompressed content. */
export async function* decompressCms(reader: ByteReader, maxBytes: number): AsyncGenerator<Buffer> {
  let inflate: ReturnType<typeof createInflate> | undefined;
  try {
    const contentInfo = await expectHeader(reader, TAG.sequence, 'ContentInfo');
    const type = asn1js.fromBER(await readElement(reader, MAX_SMALL, 'ContentInfo'));
    if (!(type.result instanceof asn1js.ObjectIdentifier) || type.result.valueBlock.toString() !== OID.compressedData) {
      throw new As2Failure('decompression-failed', 'the message is declared compressed-data but is not CMS CompressedData');
    }
    const explicit = await expectHeader(reader, TAG.context0, 'ContentInfo content');
    const compressed = await expectHeader(reader, TAG.sequence, 'CompressedData');
    await readElement(reader, 16, 'CompressedData version');
    const algorithm = asn1js.fromBER(await readElement(reader, MAX_SMALL, 'compression algorithm'));
    const algorithmOid = algorithm.result instanceof asn1js.Sequence ? algorithm.result.valueBlock.value[0] : undefined;
    if (!(algorithmOid instanceof asn1js.ObjectIdentifier) || algorithmOid.valueBlock.toString() !== OID.zlibCompress) {
      throw new As2Failure('decompression-failed', 'unsupported compression algorithm (only zlib is defined for CMS)');
    }
    const encapsulated = await expectHeader(reader, TAG.sequence, 'encapContentInfo');
    await readElement(reader, MAX_SMALL, 'encapsulated content type');
    const wrapper = await expectHeader(reader, TAG.context0, 'encapsulated content');
    const content = await readHeader(reader, 'compressed content');
    if ((content.tag & 0xdf) !== TAG.octetString) throw new As2Failure('decompression-failed', 'the compressed content is not an OCTET STRING');

    inflate = createInflate();
    const feeding = pipeline(Readable.from(octets(reader, content, 'the compressed content')), inflate);
    feeding.catch(() => undefined);
    let total = 0;
    for await (const chunk of inflate as AsyncIterable<Buffer>) {
      total += chunk.length;
      // A small message may inflate to a huge one (a "zip bomb"): the size limit applies to what comes out.
      if (total > maxBytes) throw new As2Failure('decompression-failed', `the content decompresses to more than ${maxBytes} bytes`);
      yield chunk;
    }
    await feeding;
    for (const frame of [wrapper, encapsulated, compressed, explicit, contentInfo]) await closeContainer(reader, frame);
  } catch (err) {
    inflate?.destroy();
    throw failureOf(err, 'decompression-failed', 'cannot decompress');
  }
}

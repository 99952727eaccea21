import type { Readable } from 'node:stream';
import type { FileDescriptor } from './descriptor.js';
import { refusal, storageError } from './errno.js';
import { DEFAULT_HIGH_WATER_MARK, FileRangeReader, closeStream, isByteCount } from './streams.js';
import type { ReadHandle } from './types.js';

export class LocalReadHandle implements ReadHandle {
  private readonly streams = new Set<Readable>();
  private closing: Promise<void> | undefined;

  constructor(
    private readonly fh: FileDescriptor,
    readonly path: string,
    readonly size: number,
    readonly offset: number,
  ) {}

  stream(opts: { end?: number; highWaterMark?: number } = {}): Readable {
    this.assertOpen('stream');
    const end = opts.end ?? this.size - 1;
    if (!Number.isSafeInteger(end)) throw refusal('FERRY_ERR_BAD_REQUEST', 'read', this.path, 'end must be an integer');
    const stream = new FileRangeReader(this.fh, this.offset, end, opts.highWaterMark ?? DEFAULT_HIGH_WATER_MARK, (err) =>
      storageError(err, 'read', this.path),
    );
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    return stream;
  }

  async read(buf: Buffer, position: number): Promise<number> {
    this.assertOpen('read');
    if (!isByteCount(position)) throw refusal('FERRY_ERR_BAD_REQUEST', 'read', this.path, 'position must be a non-negative integer');
    try {
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, position);
      return bytesRead;
    } catch (err) {
      throw storageError(err, 'read', this.path);
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.streams].map((stream) => closeStream(stream)));
      try {
        await this.fh.close();
      } catch (err) {
        throw storageError(err, 'close', this.path);
      }
    })();
    return this.closing;
  }

  private assertOpen(op: string): void {
    if (this.closing) throw new Error(`ReadHandle ${op}() on ${this.path} after close()`);
  }
}

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FerryError, isFerryError, localStorage, type FileStat, type Storage, type Transfer, type UploadHandle } from '@ferry/core';
import { tap } from './as2/bytes.js';
import { parseHeaderValue, type MimeHeaders } from './as2/mime.js';
import type { TradingPartner } from './partners.js';

/**
 * Where payloads land: each partner's inbox directory, through core storage (jailed, written to a
 * partial file and renamed into place only once the whole message has been verified). The file
 * keeps the name the partner gave it; a name already taken gets the message's short hash.
 */

const MAX_NAME = 200;

/** The name a payload is stored under: its filename parameter, made safe, else one from the Message-ID. */
export function payloadName(headers: MimeHeaders, messageId: string): string {
  const disposition = headers.get('content-disposition');
  const given = (disposition && parseHeaderValue(disposition).params.get('filename')) ?? parseHeaderValue(headers.get('content-type') ?? '').params.get('name');
  const safe = given === undefined ? '' : cleanName(given);
  return safe !== '' ? safe : `message-${cleanName(messageId.replace(/^<|>$/g, '')) || shortHash(messageId)}`;
}

function cleanName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  // Control characters, and the leading dots that would hide a file or name . and ..
  const visible = [...base].filter((char) => char.charCodeAt(0) >= 0x20 && char.charCodeAt(0) !== 0x7f).join('');
  const cleaned = visible.replace(/^[.\s]+/, '').trim();
  return Buffer.byteLength(cleaned) > MAX_NAME ? cleaned.slice(0, MAX_NAME) : cleaned;
}

function shortHash(messageId: string): string {
  return createHash('sha256').update(messageId).digest('hex').slice(0, 12);
}

function withSuffix(name: string, suffix: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)}.${suffix}${name.slice(dot)}` : `${name}.${suffix}`;
}

export class Inboxes {
  /** Names being written, per inbox: two messages never share a partial file. */
  readonly #writing = new Map<string, Set<string>>();

  async open(partner: TradingPartner, headers: MimeHeaders, messageId: string): Promise<InboxUpload> {
    // Opened per message (cheap): an inbox an operator moved away is simply created again.
    const storage = await localStorage(partner.inbox, { createHome: true });
    const writing = this.#writing.get(partner.inbox) ?? new Set<string>();
    this.#writing.set(partner.inbox, writing);
    const name = await this.#freeName(storage, writing, payloadName(headers, messageId), messageId);
    writing.add(name);
    try {
      const handle = await storage.openWrite(`/${name}`);
      return new InboxUpload(`/${name}`, join(storage.home, name), handle, () => writing.delete(name));
    } catch (err) {
      writing.delete(name);
      throw err;
    }
  }

  async #freeName(storage: Storage, writing: Set<string>, wanted: string, messageId: string): Promise<string> {
    const candidates = [wanted, withSuffix(wanted, shortHash(messageId))];
    for (let n = 2; candidates.length < 12; n++) candidates.push(withSuffix(wanted, `${shortHash(messageId)}-${n}`));
    for (const name of candidates) {
      if (writing.has(name)) continue;
      const taken = await storage.lstat(`/${name}`).then(
        () => true,
        (err: unknown) => {
          if (isFerryError(err, 'FERRY_ERR_NOT_FOUND')) return false;
          throw err;
        },
      );
      if (!taken) return name;
    }
    throw new FerryError('FERRY_ERR_EXISTS', `no free name for ${wanted} in the inbox`);
  }
}

/** One payload being written. Never renamed into place unless commit() is called. */
export class InboxUpload {
  #bytes = 0;

  constructor(
    readonly path: string,
    /** Where the payload lands on the host (inboxes are folders, not account homes): what routing gets. */
    readonly hostPath: string,
    private readonly handle: UploadHandle,
    private readonly release: () => void,
  ) {}

  get bytes(): number {
    return this.#bytes;
  }

  /** Streams the payload into the partial file, with backpressure, progress and a size limit. */
  async write(body: AsyncIterable<Buffer>, transfer: Transfer, maxBytes: number): Promise<void> {
    const counted = tap(body, (chunk) => {
      this.#bytes += chunk.length;
      if (this.#bytes > maxBytes) throw new FerryError('FERRY_ERR_TOO_LARGE', `the payload is larger than ${maxBytes} bytes`, { details: { limit: maxBytes } });
      transfer.progress(chunk.length);
    });
    await pipeline(counted, this.handle.stream(), { signal: transfer.signal });
  }

  async commit(): Promise<FileStat> {
    try {
      return await this.handle.commit();
    } finally {
      this.release();
    }
  }

  /** AS2 has no restart of a cut message (the partner resends it whole): a partial is of no use. */
  async discard(): Promise<void> {
    try {
      await this.handle.discard();
    } finally {
      this.release();
    }
  }
}

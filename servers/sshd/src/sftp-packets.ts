/**
 * SFTP version 3 on the wire (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks) and the
 * OpenSSH extensions Ferry answers. Pure encoding and decoding: no I/O, no policy. Ferry speaks the
 * subsystem itself over the raw SSH channel because ssh2's built-in SFTP server can neither
 * advertise extensions in its VERSION packet nor send EXTENDED_REPLY packets, and without them
 * OpenSSH clients fall back to 32 KiB requests and a rename that cannot replace.
 */

export const SFTP_VERSION = 3;

export const PACKET = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

export const STATUS = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

export type StatusCode = (typeof STATUS)[keyof typeof STATUS];

export const OPEN_FLAG = { READ: 0x01, WRITE: 0x02, APPEND: 0x04, CREAT: 0x08, TRUNC: 0x10, EXCL: 0x20 } as const;

const ATTR = { SIZE: 0x01, UIDGID: 0x02, PERMISSIONS: 0x04, ACMODTIME: 0x08, EXTENDED: 0x80000000 } as const;

/** Extension names Ferry implements, with the version string OpenSSH's sftp-server advertises. */
export const EXTENSIONS = {
  POSIX_RENAME: 'posix-rename@openssh.com',
  STATVFS: 'statvfs@openssh.com',
  FSTATVFS: 'fstatvfs@openssh.com',
  FSYNC: 'fsync@openssh.com',
  LIMITS: 'limits@openssh.com',
} as const;

export const ADVERTISED_EXTENSIONS: readonly (readonly [string, string])[] = [
  [EXTENSIONS.POSIX_RENAME, '1'],
  [EXTENSIONS.STATVFS, '2'],
  [EXTENSIONS.FSTATVFS, '2'],
  [EXTENSIONS.FSYNC, '1'],
  [EXTENSIONS.LIMITS, '1'],
];

/** File attributes as SFTP v3 carries them; times in seconds since the epoch. */
export interface Attrs {
  size?: number;
  uid?: number;
  gid?: number;
  /** Full st_mode, type bits included. */
  mode?: number;
  atime?: number;
  mtime?: number;
}

/** A request whose fields do not add up; answered SSH_FX_BAD_MESSAGE when its id could be read. */
export class MalformedPacket extends Error {
  constructor(
    message: string,
    readonly requestId: number | undefined,
  ) {
    super(message);
    this.name = 'MalformedPacket';
  }
}

const TWO_32 = 2 ** 32;

/** Bounds-checked reading of one packet's payload (after its length and type bytes). */
export class PacketReader {
  #at: number;
  requestId: number | undefined;

  constructor(
    private readonly buf: Buffer,
    start: number,
  ) {
    this.#at = start;
  }

  get remaining(): number {
    return this.buf.length - this.#at;
  }

  u32(): number {
    if (this.remaining < 4) throw this.#short('uint32');
    const value = this.buf.readUInt32BE(this.#at);
    this.#at += 4;
    return value;
  }

  /** A uint64 as a JS number; values beyond 2^53 are refused rather than rounded. */
  u64(): number {
    const high = this.u32();
    const low = this.u32();
    const value = high * TWO_32 + low;
    if (!Number.isSafeInteger(value)) throw new MalformedPacket('a 64-bit value beyond 2^53', this.requestId);
    return value;
  }

  /** A length-prefixed string as bytes: a view into the packet, never a copy. */
  bytes(): Buffer {
    const length = this.u32();
    if (this.remaining < length) throw this.#short('string');
    const value = this.buf.subarray(this.#at, this.#at + length);
    this.#at += length;
    return value;
  }

  text(): string {
    return this.bytes().toString('utf8');
  }

  attrs(): Attrs {
    const flags = this.u32();
    const attrs: Attrs = {};
    if (flags & ATTR.SIZE) attrs.size = this.u64();
    if (flags & ATTR.UIDGID) {
      attrs.uid = this.u32();
      attrs.gid = this.u32();
    }
    if (flags & ATTR.PERMISSIONS) attrs.mode = this.u32();
    if (flags & ATTR.ACMODTIME) {
      attrs.atime = this.u32();
      attrs.mtime = this.u32();
    }
    if (flags & ATTR.EXTENDED) {
      // Nothing Ferry understands travels here; read past the pairs so the packet stays in step.
      const count = this.u32();
      for (let i = 0; i < count; i++) {
        this.bytes();
        this.bytes();
      }
    }
    return attrs;
  }

  #short(what: string): MalformedPacket {
    return new MalformedPacket(`packet too short for its ${what}`, this.requestId);
  }
}

/**
 * Builds one outgoing packet: the uint32 length is filled in by `finish()`. Grows by doubling, so a
 * NAME reply of a large directory costs a few copies, not one per entry.
 */
export class PacketWriter {
  #buf: Buffer;
  #at = 4;

  constructor(type: number, sizeHint = 64) {
    this.#buf = Buffer.allocUnsafe(Math.max(16, sizeHint));
    this.u8(type);
  }

  u8(value: number): this {
    this.#room(1);
    this.#buf[this.#at++] = value;
    return this;
  }

  u32(value: number): this {
    this.#room(4);
    this.#buf.writeUInt32BE(value >>> 0, this.#at);
    this.#at += 4;
    return this;
  }

  u64(value: number): this {
    const safe = Math.max(0, Math.floor(value));
    return this.u32(Math.floor(safe / TWO_32)).u32(safe % TWO_32);
  }

  string(value: string | Buffer): this {
    const length = typeof value === 'string' ? Buffer.byteLength(value) : value.length;
    this.u32(length);
    this.#room(length);
    if (typeof value === 'string') this.#buf.write(value, this.#at, 'utf8');
    else value.copy(this.#buf, this.#at);
    this.#at += length;
    return this;
  }

  attrs(attrs: Attrs): this {
    let flags = 0;
    if (attrs.size !== undefined) flags |= ATTR.SIZE;
    if (attrs.uid !== undefined && attrs.gid !== undefined) flags |= ATTR.UIDGID;
    if (attrs.mode !== undefined) flags |= ATTR.PERMISSIONS;
    if (attrs.atime !== undefined && attrs.mtime !== undefined) flags |= ATTR.ACMODTIME;
    this.u32(flags);
    if (attrs.size !== undefined) this.u64(attrs.size);
    if (flags & ATTR.UIDGID) this.u32(attrs.uid ?? 0).u32(attrs.gid ?? 0);
    if (attrs.mode !== undefined) this.u32(attrs.mode);
    if (flags & ATTR.ACMODTIME) this.u32(attrs.atime ?? 0).u32(attrs.mtime ?? 0);
    return this;
  }

  finish(): Buffer {
    this.#buf.writeUInt32BE(this.#at - 4, 0);
    return this.#buf.subarray(0, this.#at);
  }

  #room(bytes: number): void {
    if (this.#at + bytes <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#at + bytes));
    this.#buf.copy(grown, 0, 0, this.#at);
    this.#buf = grown;
  }
}

export function versionPacket(extensions: readonly (readonly [string, string])[]): Buffer {
  const packet = new PacketWriter(PACKET.VERSION, 256).u32(SFTP_VERSION);
  for (const [name, data] of extensions) packet.string(name).string(data);
  return packet.finish();
}

export function statusPacket(id: number, code: StatusCode, message: string): Buffer {
  return new PacketWriter(PACKET.STATUS, 32 + message.length * 3).u32(id).u32(code).string(message).string('en').finish();
}

export function handlePacket(id: number, handle: Buffer): Buffer {
  return new PacketWriter(PACKET.HANDLE, 16 + handle.length).u32(id).string(handle).finish();
}

export function attrsPacket(id: number, attrs: Attrs): Buffer {
  return new PacketWriter(PACKET.ATTRS, 48).u32(id).attrs(attrs).finish();
}

export interface NameEntry {
  filename: string;
  longname: string;
  attrs: Attrs;
}

export function namePacket(id: number, entries: readonly NameEntry[]): Buffer {
  const packet = new PacketWriter(PACKET.NAME, 64 + entries.length * 128).u32(id).u32(entries.length);
  for (const entry of entries) packet.string(entry.filename).string(entry.longname).attrs(entry.attrs);
  return packet.finish();
}

export function extendedReplyPacket(id: number, build: (packet: PacketWriter) => void): Buffer {
  const packet = new PacketWriter(PACKET.EXTENDED_REPLY, 128).u32(id);
  build(packet);
  return packet.finish();
}

/** Header of a DATA reply: length, type, id, data length. */
export const DATA_HEADER = 13;

/**
 * A DATA reply is read straight into its packet: the file bytes go at `DATA_HEADER`, and
 * `sealData` writes the header in front of however many arrived, so no byte is copied twice.
 */
export function sealData(packet: Buffer, id: number, length: number): Buffer {
  packet.writeUInt32BE(DATA_HEADER - 4 + length, 0);
  packet[4] = PACKET.DATA;
  packet.writeUInt32BE(id, 5);
  packet.writeUInt32BE(length, 9);
  return packet.subarray(0, DATA_HEADER + length);
}

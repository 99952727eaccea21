import { MalformedPacket, PACKET, PacketReader, type Attrs } from './sftp-packets.js';

/** One client request, decoded. Paths are the client's strings; handles the client's bytes. */
export type SftpRequest =
  | { kind: 'open'; id: number; path: string; flags: number; attrs: Attrs }
  | { kind: 'close' | 'fstat' | 'readdir'; id: number; handle: Buffer }
  | { kind: 'read'; id: number; handle: Buffer; offset: number; length: number }
  | { kind: 'write'; id: number; handle: Buffer; offset: number; data: Buffer }
  | { kind: 'stat' | 'lstat' | 'opendir' | 'remove' | 'rmdir' | 'realpath' | 'readlink'; id: number; path: string }
  | { kind: 'setstat' | 'mkdir'; id: number; path: string; attrs: Attrs }
  | { kind: 'fsetstat'; id: number; handle: Buffer; attrs: Attrs }
  | { kind: 'rename'; id: number; from: string; to: string }
  | { kind: 'symlink'; id: number; target: string; link: string }
  | { kind: 'extended'; id: number; name: string; body: PacketReader }
  | { kind: 'unknown'; id: number; type: number };

export type RequestKind = SftpRequest['kind'];

const PATH_ONLY = {
  [PACKET.STAT]: 'stat',
  [PACKET.LSTAT]: 'lstat',
  [PACKET.OPENDIR]: 'opendir',
  [PACKET.REMOVE]: 'remove',
  [PACKET.RMDIR]: 'rmdir',
  [PACKET.REALPATH]: 'realpath',
  [PACKET.READLINK]: 'readlink',
} as const;

const HANDLE_ONLY = { [PACKET.CLOSE]: 'close', [PACKET.FSTAT]: 'fstat', [PACKET.READDIR]: 'readdir' } as const;

/**
 * Decodes one packet (`packet[0]` is its type, the length prefix already stripped). Throws
 * MalformedPacket, carrying the request id when it could be read so the client gets an answer.
 */
export function decodeRequest(packet: Buffer): SftpRequest {
  const type = packet[0] ?? 0;
  const r = new PacketReader(packet, 1);
  const id = r.u32();
  r.requestId = id;
  const request = decodeBody(type, id, r);
  // Trailing bytes are tolerated except on WRITE, where they would mean a data length that lies.
  if (request.kind === 'write' && r.remaining !== 0) throw new MalformedPacket('WRITE has bytes after its data', id);
  return request;
}

function decodeBody(type: number, id: number, r: PacketReader): SftpRequest {
  if (type in PATH_ONLY) return { kind: PATH_ONLY[type as keyof typeof PATH_ONLY], id, path: r.text() };
  if (type in HANDLE_ONLY) return { kind: HANDLE_ONLY[type as keyof typeof HANDLE_ONLY], id, handle: r.bytes() };
  switch (type) {
    case PACKET.OPEN:
      return { kind: 'open', id, path: r.text(), flags: r.u32(), attrs: r.attrs() };
    case PACKET.READ:
      return { kind: 'read', id, handle: r.bytes(), offset: r.u64(), length: r.u32() };
    case PACKET.WRITE:
      return { kind: 'write', id, handle: r.bytes(), offset: r.u64(), data: r.bytes() };
    case PACKET.SETSTAT:
      return { kind: 'setstat', id, path: r.text(), attrs: r.attrs() };
    case PACKET.MKDIR:
      return { kind: 'mkdir', id, path: r.text(), attrs: r.attrs() };
    case PACKET.FSETSTAT:
      return { kind: 'fsetstat', id, handle: r.bytes(), attrs: r.attrs() };
    case PACKET.RENAME:
      return { kind: 'rename', id, from: r.text(), to: r.text() };
    case PACKET.SYMLINK: {
      // OpenSSH sends the target first, against the draft's order; every OpenSSH client does, and
      // OpenSSH's own server reads it this way, so that is the order that interoperates.
      const target = r.text();
      return { kind: 'symlink', id, target, link: r.text() };
    }
    case PACKET.EXTENDED:
      return { kind: 'extended', id, name: r.text(), body: r };
    default:
      return { kind: 'unknown', id, type };
  }
}

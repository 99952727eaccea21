import { describe, expect, it } from 'vitest';
import { longname } from '../src/attrs.js';
import { MalformedPacket, PACKET, PacketReader, PacketWriter, sealData, DATA_HEADER } from '../src/sftp-packets.js';
import { decodeRequest } from '../src/sftp-requests.js';

/** A request packet as the decoder sees it: type byte first, length prefix stripped. */
function request(type: number, build: (p: PacketWriter) => void): Buffer {
  const p = new PacketWriter(type);
  build(p);
  return p.finish().subarray(4);
}

describe('SFTP packets', () => {
  it('decodes the requests OpenSSH sends', () => {
    expect(decodeRequest(request(PACKET.OPEN, (p) => p.u32(3).string('/a b.txt').u32(0x1a).attrs({ mode: 0o644 })))).toEqual({
      kind: 'open', id: 3, path: '/a b.txt', flags: 0x1a, attrs: { mode: 0o644 },
    });
    const write = decodeRequest(request(PACKET.WRITE, (p) => p.u32(4).string(Buffer.from([0, 0, 0, 1])).u64(2 ** 40).string(Buffer.from('data'))));
    expect(write).toMatchObject({ kind: 'write', id: 4, offset: 2 ** 40 });
    expect(write.kind === 'write' && write.data.toString()).toBe('data');
    expect(decodeRequest(request(PACKET.SYMLINK, (p) => p.u32(5).string('/target').string('/link')))).toEqual({ kind: 'symlink', id: 5, target: '/target', link: '/link' });
    const ext = decodeRequest(request(PACKET.EXTENDED, (p) => p.u32(6).string('posix-rename@openssh.com').string('/x').string('/y')));
    expect(ext.kind === 'extended' && [ext.name, ext.body.text(), ext.body.text()]).toEqual(['posix-rename@openssh.com', '/x', '/y']);
    expect(decodeRequest(request(77, (p) => p.u32(7)))).toEqual({ kind: 'unknown', id: 7, type: 77 });
  });

  it('refuses what does not add up, with the id when it could be read', () => {
    const cut = request(PACKET.OPEN, (p) => p.u32(9).u32(100).u8(65));
    expect(() => decodeRequest(cut)).toThrow(MalformedPacket);
    try {
      decodeRequest(cut);
    } catch (err) {
      expect((err as MalformedPacket).requestId).toBe(9);
    }
    try {
      decodeRequest(Buffer.from([PACKET.STAT, 0, 0]));
    } catch (err) {
      expect((err as MalformedPacket).requestId).toBeUndefined();
    }
    const huge = new PacketReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), 0);
    expect(() => huge.u64()).toThrow(/beyond 2\^53/);
    const trailing = request(PACKET.WRITE, (p) => p.u32(1).string(Buffer.alloc(4)).u64(0).string('x').u8(0));
    expect(() => decodeRequest(trailing)).toThrow(/after its data/);
  });

  it('round-trips attributes and grows past its first buffer', () => {
    const p = new PacketWriter(PACKET.ATTRS, 8).u32(1).attrs({ size: 2 ** 33 + 5, mode: 0o100600, atime: 10, mtime: 20 });
    for (let i = 0; i < 100; i++) p.string('grow');
    const packet = p.finish();
    expect(packet.readUInt32BE(0)).toBe(packet.length - 4);
    const r = new PacketReader(packet, 9);
    expect(r.attrs()).toEqual({ size: 2 ** 33 + 5, mode: 0o100600, atime: 10, mtime: 20 });
  });

  it('seals a DATA reply in place', () => {
    const buf = Buffer.alloc(DATA_HEADER + 10);
    buf.write('hello', DATA_HEADER);
    const packet = sealData(buf, 42, 5);
    expect(packet.length).toBe(DATA_HEADER + 5);
    expect([packet.readUInt32BE(0), packet[4], packet.readUInt32BE(5), packet.readUInt32BE(9)]).toEqual([DATA_HEADER - 4 + 5, PACKET.DATA, 42, 5]);
  });

  it('writes ls -l lines as OpenSSH does', () => {
    const mtime = new Date(2026, 10, 21, 9, 5);
    const line = longname({ name: 'a.txt', path: '/a.txt', type: 'file', size: 1234, mtime, mode: 0o100644 }, 'alice', mtime.getTime());
    expect(line).toBe('-rw-r--r--    1 alice    alice        1234 Nov 21 09:05 a.txt');
    const old = longname({ name: 'd', path: '/d', type: 'directory', size: 4096, mtime: new Date(2020, 0, 2), mode: 0o40755 }, 'alice', mtime.getTime());
    expect(old).toBe('drwxr-xr-x    1 alice    alice        4096 Jan 02  2020 d');
  });
});

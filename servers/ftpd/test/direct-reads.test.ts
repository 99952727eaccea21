import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RawConnection, acceptDirectly, readDirectly, readInto, socketFd, type Accepted, type ReadTarget } from '../src/direct-reads.js';

/** A target that gathers everything into one buffer, counting reads made in place and copies. */
class Gather implements ReadTarget {
  readonly into: Buffer;
  at = 0;
  inPlace = 0;
  copied = 0;
  /** While true, every read asks the socket to pause. */
  stall = false;

  constructor(size: number) {
    this.into = Buffer.alloc(size);
  }

  space(): Buffer {
    return this.into.subarray(this.at, Math.min(this.at + 256 * 1024, this.into.length));
  }

  filled(bytes: number): boolean {
    this.at += bytes;
    this.inPlace++;
    return !this.stall;
  }

  push(chunk: Buffer): boolean {
    chunk.copy(this.into, this.at);
    this.at += chunk.length;
    this.copied++;
    return !this.stall;
  }
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A paused-on-connect server and one client connection to it; resolves with both ends. */
async function accepted(): Promise<{ server: Server; theirs: Socket; ours: Socket }> {
  const server = createServer({ pauseOnConnect: true });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const ours = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const theirs = connect((server.address() as AddressInfo).port, '127.0.0.1');
  return { server, theirs, ours: await ours };
}

/** `bytes` random bytes from the client into `socket` (direct mode) until its end; returns what arrived and how. */
async function deliver(socket: Socket, theirs: Socket, bytes: number): Promise<{ data: Buffer; target: Gather }> {
  const data = randomBytes(bytes);
  const target = new Gather(data.length);
  expect(readInto(socket, target)).toBe(true);
  const done = ended(socket);
  socket.resume();
  theirs.end(data);
  await done;
  return { data, target };
}

/** A listener that accepts directly, and one client connection to it: both ends, ours bare. */
async function bareConnection(): Promise<{ theirs: Socket; raw: RawConnection }> {
  const server = createServer({ pauseOnConnect: true });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Accepted>((resolve) => acceptDirectly(server, resolve));
  const theirs = connect((server.address() as AddressInfo).port, '127.0.0.1');
  return { theirs, raw: (await accepted) as RawConnection };
}

function ended(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
}

describe('direct reads on an accepted socket', () => {
  it('delivers every byte into the target, in place after the first read, and ends', async () => {
    const { server, theirs, ours } = await accepted();
    const socket = readDirectly(ours);
    expect(socket).not.toBe(ours);
    const { data, target } = await deliver(socket, theirs, 3 * 1024 * 1024 + 17);
    expect(target.at).toBe(data.length);
    expect(target.into.equals(data)).toBe(true);
    // The socket's first buffer was handed out before the target came: that read alone is copied.
    expect(target.copied).toBe(1);
    expect(target.inPlace).toBeGreaterThan(0);
    socket.destroy();
    // The old Socket let go of the server: close() completes without waiting for it.
    await new Promise((resolve) => server.close(resolve));
    servers.splice(servers.indexOf(server), 1);
  });

  it('pauses while the target is full and goes on after resume, losing nothing', async () => {
    const { theirs, ours } = await accepted();
    const socket = readDirectly(ours);
    const data = randomBytes(8 * 1024 * 1024);
    const target = new Gather(data.length);
    target.stall = true;
    readInto(socket, target);
    const done = ended(socket);
    socket.resume();
    theirs.end(data);
    await new Promise((resolve) => setTimeout(resolve, 50));
    // One read was taken, then the socket stopped: the rest waits in the kernel and the sender.
    const reads = target.inPlace + target.copied;
    expect(reads).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(target.inPlace + target.copied).toBe(reads);
    target.stall = false;
    socket.resume();
    await done;
    expect(target.into.equals(data)).toBe(true);
    socket.destroy();
  });

  it('discards what arrives while no target is attached, and still ends', async () => {
    const { theirs, ours } = await accepted();
    const socket = readDirectly(ours);
    const done = ended(socket);
    socket.resume();
    theirs.end(Buffer.from('stray bytes'));
    await done;
    socket.destroy();
  });

  it('keeps a socket that has already been read from as it is', async () => {
    const { theirs, ours } = await accepted();
    const first = new Promise<Buffer>((resolve) => ours.once('data', resolve));
    ours.resume();
    theirs.write('hello');
    await first;
    expect(readDirectly(ours)).toBe(ours);
    expect(readInto(ours, new Gather(1))).toBe(false);
    theirs.destroy();
    ours.destroy();
  });

  it('a listener made to accept directly hands over bare connections; one becomes a Socket on demand', async () => {
    const server = createServer({ pauseOnConnect: true });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const connections: Accepted[] = [];
    let arrived: () => void = () => undefined;
    acceptDirectly(server, (connection) => {
      connections.push(connection);
      arrived();
    });
    const port = (server.address() as AddressInfo).port;
    const next = async (): Promise<{ theirs: Socket; ours: Accepted }> => {
      const came = new Promise<void>((resolve) => (arrived = resolve));
      const theirs = connect(port, '127.0.0.1');
      await came;
      return { theirs, ours: connections.at(-1) as Accepted };
    };

    // An upload: read without a Socket, every byte in place.
    const upload = await next();
    expect(upload.ours).toBeInstanceOf(RawConnection);
    const raw = upload.ours as RawConnection;
    expect(raw.remoteAddress).toBe('127.0.0.1');
    expect(socketFd(raw)).toBeGreaterThan(2);
    const data = randomBytes(3 * 1024 * 1024 + 5);
    const target = new Gather(data.length);
    expect(readInto(raw, target)).toBe(true);
    const ended = new Promise<void>((resolve) => raw.once('end', resolve));
    raw.resume();
    upload.theirs.end(data);
    await ended;
    expect(target.into.equals(data)).toBe(true);
    expect(target.copied).toBe(0);
    const closed = new Promise<void>((resolve) => raw.once('close', resolve));
    raw.end();
    await closed;
    expect(socketFd(raw)).toBeUndefined();

    // A download: the same kind of connection, made a Socket before anything is read.
    const download = await next();
    const socket = (download.ours as RawConnection).socket();
    expect(readDirectly(socket)).toBe(socket);
    const back = new Promise<string>((resolve) => {
      let text = '';
      download.theirs.on('data', (chunk: Buffer) => (text += chunk.toString()));
      download.theirs.once('end', () => resolve(text));
    });
    socket.write('hello');
    const sent = await deliver(socket, download.theirs, 1024 * 1024 + 3);
    expect(sent.target.into.equals(sent.data)).toBe(true);
    expect(await back).toBe('hello');
    socket.destroy();
    // Neither is in the server's connection count: close() completes at once.
    await new Promise((resolve) => server.close(resolve));
    servers.splice(servers.indexOf(server), 1);
  });

  it('a bare connection stops while its target is full, reports a reset, and cannot become a Socket once read', async () => {
    const { theirs, raw } = await bareConnection();
    const target = new Gather(8 * 1024 * 1024);
    target.stall = true;
    readInto(raw, target);
    const failed = new Promise<Error>((resolve) => raw.once('error', resolve));
    const closed = new Promise<void>((resolve) => raw.once('close', resolve));
    raw.resume();
    theirs.write(randomBytes(4 * 1024 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(target.inPlace).toBe(1);
    expect(() => raw.socket()).toThrow();
    target.stall = false;
    raw.resume();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(target.at).toBe(4 * 1024 * 1024);
    theirs.resetAndDestroy();
    expect((await failed).message).toMatch(/read error/);
    await closed;
    expect(raw.destroyed).toBe(true);
  });

  it('a bare connection that moves nothing is cut by its idle timer', async () => {
    const { theirs, raw } = await bareConnection();
    const theirsClosed = new Promise<void>((resolve) => theirs.once('close', () => resolve()));
    raw.setTimeout(50, () => raw.destroy());
    raw.resume();
    await theirsClosed;
    expect(raw.destroyed).toBe(true);
  });
});

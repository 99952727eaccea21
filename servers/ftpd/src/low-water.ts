import { setReceiveLowWater, socketOptionsAvailable } from '@ferry/core';
import { socketFd, type InboundData } from './direct-reads.js';

/** What a fast upload's reader waits for before the kernel wakes it. */
export const FAST_LOW_WATER = 256 * 1024;
/** How often the arrival rate is looked at. */
const CHECK_MS = 50;
/** Bytes per check above which the client counts as fast: 10 MB/s, so FAST_LOW_WATER is at most 25 ms of its data. */
const FAST_BYTES_PER_CHECK = 2 * FAST_LOW_WATER;

/**
 * A plain upload's SO_RCVLOWAT, following its client: raised to FAST_LOW_WATER while the client
 * sends fast, so that the daemon is woken once per 256 KiB rather than per segment train (on this
 * project's 2-vCPU VM each of those wake-ups is an interrupt the sending client pays for; measured:
 * a 1 GiB curl upload went from about 0.75 to 0.85-1.0 of vsftpd's speed), and back to one byte
 * within CHECK_MS once it slows or pauses, so that what it sent is read at once (progress, and the
 * data connection's idle timer, see every byte). An upload's client keeps sending until it
 * closes, so the raised mark never leaves bytes waiting for good.
 */
export class ReceiveLowWater {
  readonly #fd: number;
  /** Checks start once FAST_BYTES_PER_CHECK have arrived: a small file never needs a timer. */
  #timer: NodeJS.Timeout | undefined;
  #bytes = 0;
  #current = 1;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Follows `socket`, or undefined where the option cannot be set (no addon, no descriptor). */
  static follow(socket: InboundData): ReceiveLowWater | undefined {
    if (!socketOptionsAvailable) return undefined;
    const fd = socketFd(socket);
    return fd === undefined ? undefined : new ReceiveLowWater(fd);
  }

  /** `bytes` were read. */
  read(bytes: number): void {
    this.#bytes += bytes;
    if (this.#timer === undefined && this.#bytes >= FAST_BYTES_PER_CHECK) {
      this.#timer = setInterval(() => this.#check(), CHECK_MS);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  #check(): void {
    const wanted = this.#bytes >= FAST_BYTES_PER_CHECK ? FAST_LOW_WATER : 1;
    this.#bytes = 0;
    // Lowering it wakes the reader at once if bytes are waiting (tcp_set_rcvlowat).
    if (wanted !== this.#current && setReceiveLowWater(this.#fd, wanted)) this.#current = wanted;
  }
}

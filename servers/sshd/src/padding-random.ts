import crypto from 'node:crypto';

/**
 * ssh2 fills every packet's padding (4 to 255 bytes) with `crypto.randomFillSync`, one call per
 * packet, and a call costs more than a kilobyte's worth of random bytes: 1.4 µs in a loop here,
 * about 40 µs per small SFTP upload in a profile of sshd (its replies, the window adjustments, the
 * rekeying). ssh2 takes the function from `crypto` when it loads, so this module, imported before
 * it, puts one in its place that serves such small fills from a 64 KiB block of the same CSPRNG,
 * drawn at once and handed out only once (each slice is zeroed as it leaves). Every other call
 * (larger fills, other argument forms) goes to Node's own, unchanged.
 */
const BLOCK_BYTES = 64 * 1024;
const SMALL_FILL = 256;

const nodeRandomFillSync = crypto.randomFillSync;
const block = Buffer.allocUnsafeSlow(BLOCK_BYTES);
let used = BLOCK_BYTES;

function randomFillSync<T extends NodeJS.ArrayBufferView>(buffer: T, offset?: number, size?: number): T {
  if (
    Buffer.isBuffer(buffer) &&
    typeof offset === 'number' &&
    typeof size === 'number' &&
    Number.isInteger(offset) &&
    Number.isInteger(size) &&
    size > 0 &&
    size <= SMALL_FILL &&
    offset >= 0 &&
    offset + size <= buffer.length
  ) {
    if (used + size > BLOCK_BYTES) {
      nodeRandomFillSync(block);
      used = 0;
    }
    block.copy(buffer, offset, used, used + size);
    block.fill(0, used, used + size);
    used += size;
    return buffer;
  }
  return nodeRandomFillSync(buffer, offset, size);
}

crypto.randomFillSync = randomFillSync as typeof crypto.randomFillSync;

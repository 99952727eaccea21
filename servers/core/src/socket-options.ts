import { createRequire } from 'node:module';

/**
 * Socket options Node.js has no call for, from core's own small native addon
 * (native/socket-options.c, built with the package when a compiler is there). Without it every
 * call here says no and the caller goes on without the option.
 */
interface Binding {
  setReceiveLowWater(fd: number, bytes: number): number;
}

function load(): Binding | undefined {
  try {
    return createRequire(import.meta.url)('../build/Release/socket_options.node') as Binding;
  } catch {
    return undefined;
  }
}

const binding = load();

/** Whether the native socket options loaded (daemons log it at start). */
export const socketOptionsAvailable = binding !== undefined;

/**
 * SO_RCVLOWAT: the kernel wakes the reader of this TCP socket only once `bytes` are waiting, or the
 * peer has closed. A bulk upload on a fast link then costs one wake-up per `bytes` instead of one
 * per segment train, and on a virtual machine each wake-up of a sleeping reader is an
 * inter-processor interrupt the sender pays for. Only for a peer that keeps sending until it
 * closes: one that waits for an answer with fewer bytes in flight would never wake the reader.
 * False when the option could not be set (no addon, not a socket).
 */
export function setReceiveLowWater(fd: number, bytes: number): boolean {
  return binding !== undefined && binding.setReceiveLowWater(fd, Math.max(1, Math.floor(bytes))) === 0;
}

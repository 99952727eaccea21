// The public surface of @ferry/sshd: the component factory and its config section.
export { createSshd, Sshd } from './sshd.js';
export { sshdSection, DEFAULT_IO_SIZE, DEFAULT_HOST_KEYS_DIR, type SshdConfig } from './config.js';

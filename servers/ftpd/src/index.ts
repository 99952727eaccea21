// The public surface of @ferry/ftpd: the component factory and its config section.
export { createFtpd, Ftpd } from './ftpd.js';
export { ftpdSection, type FtpdConfig } from './config.js';

// The public surface of @ferry/httpd: the component factory and its config section.
export { createHttpd, Httpd } from './httpd.js';
export { httpdSection, DEFAULT_UPLOAD_CHUNK_SIZE, type HttpdConfig } from './config.js';
export { CREDENTIAL_CACHE_MS } from './auth.js';
export { FILES_PREFIX } from './files.js';
export { UPLOADS_PREFIX, TUS_VERSION } from './tus.js';
export { SECRET_FILE } from './upload-id.js';

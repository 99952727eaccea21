import type { ComponentContext } from '@ferry/core';
import type { BasicAuth } from './auth.js';
import type { HttpdConfig } from './config.js';
import type { UploadIds } from './upload-id.js';

/** What the request handlers share: the core context, the login cache and the tus id signer. */
export interface HttpdServices {
  readonly ctx: ComponentContext<HttpdConfig>;
  readonly auth: BasicAuth;
  readonly uploadIds: UploadIds;
}

export type { MetadataMode } from './fs-calls.js';
export { localStorage } from './local.js';
export { PARTIAL_SUFFIX } from './jail.js';
export { DEFAULT_HIGH_WATER_MARK } from './streams.js';
export { UPLOAD_BATCH, UploadBatches, type UploadBatchEvents } from './upload-batches.js';
export type { FileStat, LocalStorageOptions, OpenWriteOptions, ReadHandle, Storage, StorageSpace, UploadHandle } from './types.js';

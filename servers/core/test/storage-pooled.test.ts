// The storage suites again with every metadata call through the thread pool, as for a home on a
// network filesystem (the other files run them inline: this machine's temp dir is local).
import { useMetadataCalls } from './storage-helpers.js';

useMetadataCalls('pooled');
await import('./storage-jail.test.js');
await import('./storage-ops.test.js');
await import('./storage-upload.test.js');

import { adminSection } from '@ferry/admin-api';
import type { AnySection } from '@ferry/core';
import { CATALOG } from './catalog.js';
import { nodeSection } from './config.js';

/** Every section of ferry.yaml this node understands. */
export const SECTIONS: readonly AnySection[] = [nodeSection, adminSection, ...Object.values(CATALOG).map((entry) => entry.section)];

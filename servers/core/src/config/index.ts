// Config primitives: units, zod helpers, section definitions and the loader. Rules: see load.ts.
export { DURATION_FORMS, SIZE_FORMS, parseDuration, parseSize } from './units.js';
export { duration, size, port, portRange, hostAddress, type PortRange } from './schema.js';
export {
  DEFAULT_ACK_TIMEOUT_MS,
  defineSection,
  defineComponentSection,
  readSection,
  enabledComponents,
  type Section,
  type AnySection,
  type ObjectSchema,
  type ComponentShape,
  type ComponentSchema,
  type ComponentSectionOptions,
  type DeepReadonly,
  type FerryConfig,
} from './section.js';
export { LOG_LEVELS, ROOT_ALIASES, rootSchema, defaultStoreUrl, type LogLevel, type RootConfig } from './root.js';
export { envName } from './env.js';
export { issueLine, type ConfigIssue } from './issues.js';
export { loadConfig, type LoadConfigOptions } from './load.js';

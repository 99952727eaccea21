import { z } from 'zod';
import { FerryError } from '../errors.js';
import type { RootConfig } from './root.js';
import { duration } from './schema.js';
import { schemaAt } from './shape.js';
import { parseDuration } from './units.js';

/**
 * A config section: one top-level key of ferry.yaml, owned by the package that reads it (each
 * daemon's config.ts, admin, tm...). The loader assembles the root keys and every section into one
 * schema and validates once.
 */

export type ObjectSchema = z.ZodObject;

export interface Section<Id extends string = string, Schema extends ObjectSchema = ObjectSchema> {
  /** The component id (or package name) and the top-level key of ferry.yaml. */
  readonly id: Id;
  /** A component is started by the node and has the common keys; a plain section is only read. */
  readonly kind: 'component' | 'section';
  readonly schema: Schema;
  /** SecureTransport-style names accepted as top-level keys of ferry.yaml → key path inside this section. */
  readonly aliases: Readonly<Record<string, string>>;
  /** Legal but doubtful values, reported to the loader's `onWarning` (e.g. a tm timeout under 30 s); for a component, only when enabled. */
  warnings?(value: z.output<Schema>): readonly string[];
}

// Method syntax above keeps Section covariant in Schema, so any section fits here.
export type AnySection = Section<string, ObjectSchema>;

/** How long the supervisor waits for a child to acknowledge `drain` before an ordinary stop (seed 004). */
export const DEFAULT_ACK_TIMEOUT_MS = 10_000;

const COMPONENT_KEYS = ['enabled', 'gracefulShutdownTimeout', 'ackTimeout'] as const;

function componentShape(gracefulShutdownTimeoutMs: number) {
  return {
    // Defaults to true so a section alone parses; the loader always sets it from the presence rule.
    enabled: z.boolean().default(true),
    gracefulShutdownTimeout: duration().default(gracefulShutdownTimeoutMs),
    ackTimeout: duration()
      .refine((ms) => ms > 0, { message: 'must be longer than 0', params: { allowed: 'a duration above zero, like 10s' } })
      .default(DEFAULT_ACK_TIMEOUT_MS),
  };
}

export type ComponentShape = ReturnType<typeof componentShape>;
export type ComponentSchema<Schema extends ObjectSchema> = z.ZodObject<ComponentShape & Schema['shape']>;

function definitionError(id: string, problem: string): FerryError {
  return new FerryError('FERRY_ERR_CONFIG_INVALID', `config section "${id}" is defined wrongly: ${problem}`, { details: { key: id } });
}

function checkDefinition(id: string, schema: ObjectSchema, aliases: Readonly<Record<string, string>>): void {
  if (!/^[a-z][a-z0-9-]*$/.test(id)) throw definitionError(id, 'the id must be lower-case letters, digits and hyphens');
  for (const [alias, target] of Object.entries(aliases)) {
    if (!schemaAt(schema, target.split('.'))) throw definitionError(id, `alias ${alias} points at ${id}.${target}, which is not a key`);
  }
  // With no ferry.yaml at all every section must still load: every key needs a default.
  const empty = schema.safeParse({});
  if (!empty.success) {
    const keys = empty.error.issues.map((issue) => issue.path.join('.')).join(', ');
    throw definitionError(id, `every key needs a default, these have none: ${keys}`);
  }
}

/** A section that is read, not started (e.g. `admin`). `aliases` map top-level names to keys inside it. */
export function defineSection<const Id extends string, Schema extends ObjectSchema>(
  id: Id,
  schema: Schema,
  aliases: Readonly<Record<string, string>> = {},
): Section<Id, Schema> {
  checkDefinition(id, schema, aliases);
  return Object.freeze({ id, kind: 'section' as const, schema, aliases: Object.freeze({ ...aliases }) });
}

export interface ComponentSectionOptions<Schema extends ObjectSchema> {
  /** This component's drain timeout when none is configured, e.g. '30s' for httpd, '86400s' for ftpd. */
  gracefulShutdownTimeout: string | number;
  aliases?: Readonly<Record<string, string>>;
  warnings?: (value: z.output<ComponentSchema<Schema>>) => readonly string[];
}

/**
 * A component's section: its own keys plus `enabled`, `gracefulShutdownTimeout` and `ackTimeout`.
 * Whether it runs follows the presence rule in load.ts.
 */
export function defineComponentSection<const Id extends string, Schema extends ObjectSchema>(
  id: Id,
  schema: Schema,
  options: ComponentSectionOptions<Schema>,
): Section<Id, ComponentSchema<Schema>> {
  const own = COMPONENT_KEYS.filter((key) => key in schema.shape);
  if (own.length > 0) throw definitionError(id, `${own.join(', ')} ${own.length === 1 ? 'is a common key' : 'are common keys'}, added by core`);
  const extended = schema.extend(componentShape(parseDuration(options.gracefulShutdownTimeout))) as unknown as ComponentSchema<Schema>;
  const aliases = options.aliases ?? {};
  checkDefinition(id, extended, aliases);
  const { warnings } = options;
  return Object.freeze({
    id,
    kind: 'component' as const,
    schema: extended,
    aliases: Object.freeze({ ...aliases }),
    ...(warnings ? { warnings } : {}),
  });
}

/** Deeply read-only view: the loaded config is frozen, and its type says so. */
export type DeepReadonly<T> = T extends readonly (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

type SectionValues<S extends readonly AnySection[]> = { [P in S[number] as P['id']]: z.output<P['schema']> };

/** The loaded config: the root keys plus one key per section, typed when the sections are known. */
export type FerryConfig<S extends readonly AnySection[] = readonly []> = DeepReadonly<RootConfig & SectionValues<S>>;

/** One section of a loaded config, typed by its definition. */
export function readSection<Id extends string, Schema extends ObjectSchema>(
  config: FerryConfig,
  section: Section<Id, Schema>,
): DeepReadonly<z.output<Schema>> {
  const value = (config as unknown as Record<string, unknown>)[section.id];
  if (value === undefined) {
    throw new FerryError('FERRY_ERR_UNKNOWN_COMPONENT', `no config section "${section.id}": the config was loaded without it`, {
      details: { key: section.id },
    });
  }
  return value as DeepReadonly<z.output<Schema>>;
}

/** The ids of the component sections that are enabled, in the order given. */
export function enabledComponents<const S extends readonly AnySection[]>(config: FerryConfig, sections: S): S[number]['id'][] {
  const values = config as unknown as Record<string, { enabled?: unknown } | undefined>;
  return sections.filter((section) => section.kind === 'component' && values[section.id]?.enabled === true).map((section) => section.id);
}

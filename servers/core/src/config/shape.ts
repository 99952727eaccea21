import type { z } from 'zod';

/**
 * Reading the shape of a zod schema: which keys an object allows, what a leaf accepts. The loader
 * needs it for what zod does not do the way we want: unknown-key messages that list the allowed
 * keys at that level, env var names built from the known keys, and alias targets checked when a
 * section is defined. Reads `_zod.def`, zod 4's documented introspection surface.
 */

type Schema = z.core.$ZodType;

interface LooseDef {
  type: string;
  innerType?: Schema;
  in?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  options?: readonly Schema[];
  values?: readonly unknown[];
  entries?: Record<string, unknown>;
  getter?: () => Schema;
  catchall?: Schema;
}

function defOf(schema: Schema): LooseDef {
  return schema._zod.def as unknown as LooseDef;
}

/** Strips wrappers that do not change which input is accepted (defaults, optional, the input side of a pipe). */
export function unwrap(schema: Schema): Schema {
  for (;;) {
    const def = defOf(schema);
    if (def.innerType) schema = def.innerType;
    else if (def.type === 'pipe' && def.in) schema = def.in;
    else if (def.type === 'lazy' && def.getter) schema = def.getter();
    else return schema;
  }
}

/** The keys an object schema allows, or undefined when the schema is not an object. */
export function objectShape(schema: Schema): Readonly<Record<string, Schema>> | undefined {
  const def = defOf(unwrap(schema));
  return def.type === 'object' ? def.shape : undefined;
}

/** True for `z.looseObject` and `.catchall(...)`: their author wants keys we cannot list. */
export function acceptsOtherKeys(schema: Schema): boolean {
  const catchall = defOf(unwrap(schema)).catchall;
  return catchall !== undefined && defOf(catchall).type !== 'never';
}

/** The schema every element (array) or value (record) must satisfy, for walking into lists and maps. */
export function childSchema(schema: Schema, key: string | number): Schema | undefined {
  const def = defOf(unwrap(schema));
  if (def.type === 'object') return def.shape?.[String(key)];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  return undefined;
}

/** The schema at a key path, or undefined when the path leaves the schema. */
export function schemaAt(schema: Schema, path: readonly (string | number)[]): Schema | undefined {
  let current: Schema | undefined = schema;
  for (const key of path) {
    if (!current) return undefined;
    current = childSchema(current, key);
  }
  return current;
}

/** Every path to a non-object value ("leaf"); nested objects are walked, lists and maps are leaves. */
export function leafPaths(schema: Schema, prefix: readonly string[] = []): string[][] {
  const shape = objectShape(schema);
  if (!shape) return [[...prefix]];
  return Object.entries(shape).flatMap(([key, child]) => leafPaths(child, [...prefix, key]));
}

/**
 * What kinds of raw input a leaf takes ("number", "boolean", "string", "object", ...), so an env
 * string can be coerced to what the schema wants. Our own helpers are `custom` and parse strings.
 */
export function inputKinds(schema: Schema): Set<string> {
  const def = defOf(unwrap(schema));
  switch (def.type) {
    case 'union':
      return new Set((def.options ?? []).flatMap((option) => [...inputKinds(option)]));
    case 'int':
      return new Set(['number']);
    case 'enum':
      return new Set(Object.values(def.entries ?? {}).map((value) => typeof value));
    case 'literal':
      return new Set((def.values ?? []).map((value) => typeof value));
    case 'array':
    case 'tuple':
    case 'record':
    case 'object':
      return new Set(['json']);
    case 'custom':
    case 'template_literal':
      return new Set(['string']);
    default:
      return new Set([def.type]);
  }
}

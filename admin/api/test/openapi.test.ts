import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startApi, type RunningApi } from './support/harness.js';

interface Operation {
  summary?: string;
  security?: unknown[];
  responses: Record<string, unknown>;
  parameters?: { in: string; name: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
}

interface OpenApiDocument {
  openapi: string;
  info: unknown;
  security: unknown;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
}

let api: RunningApi;
let doc: OpenApiDocument;

beforeAll(async () => {
  api = await startApi();
  doc = (await call(api, 'GET', '/docs/json', { token: null })).body;
});
afterAll(() => api.close());

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Every `$ref` in the document, wherever it is. */
function refs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((n) => refs(n, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else refs(value, found);
    }
  }
  return found;
}

describe('OpenAPI document', () => {
  it('is an OpenAPI 3.1 document with a bearer security scheme required by default', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info).toMatchObject({ title: 'Ferry admin API', version: expect.any(String) });
    expect(doc.components.securitySchemes.bearer).toEqual(expect.objectContaining({ type: 'http', scheme: 'bearer' }));
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  it('describes every operation: responses, parameters, bodies', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        expect(METHODS, `${method} ${path}`).toContain(method);
        expect(op.summary, `${method} ${path}`).toEqual(expect.any(String));
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0);
        for (const name of path.match(/\{(\w+)\}/g) ?? []) {
          const param = op.parameters?.find((p) => p.in === 'path' && `{${p.name}}` === name);
          expect(param, `${method} ${path} ${name}`).toMatchObject({ required: true });
        }
        if (path.startsWith('/api/')) expect(op.responses['401'], `${method} ${path}`).toBeDefined();
      }
    }
    expect(doc.paths['/healthz']?.get?.security).toEqual([]);
    expect(doc.paths['/api/v1/components/{id}/stop']?.post?.requestBody?.content['application/json']?.schema.properties).toMatchObject({
      graceful: { type: 'boolean', default: true },
      timeout: { type: 'number', minimum: 0 },
    });
    expect(doc.paths['/api/v1/history']?.get?.parameters?.map((p) => p.name).sort()).toEqual(['account', 'component', 'limit', 'outcome', 'since']);
  });

  it('names the shared schemas and every $ref resolves', () => {
    const schemas = doc.components.schemas;
    expect(Object.keys(schemas)).toEqual(expect.arrayContaining(['ComponentView', 'TransferSnapshot', 'Account', 'ErrorBody', 'NodeView']));
    for (const ref of refs(doc)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(schemas[ref.replace('#/components/schemas/', '')], ref).toBeDefined();
    }
  });

  it('has no password in any response schema', () => {
    const responses = Object.values(doc.paths).flatMap((item) => Object.values(item).map((op) => op.responses));
    expect(JSON.stringify([responses, doc.components.schemas])).not.toMatch(/"password/i);
  });

  it('serves Swagger UI at /docs', async () => {
    const page = await call(api, 'GET', '/docs/', { token: null });
    expect(page.status).toBe(200);
    expect(String(page.body)).toContain('swagger');
  });
});

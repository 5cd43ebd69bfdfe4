import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { weeklyTables } from '../../api/services/pricing.ts';
import { buildOpenApiDocument } from '../../api/openapi.ts';
import { OPENAPI_PATH, ROUTES } from '../../api/routes/index.ts';
import { eligibility } from '../../models/demand/elasticity.ts';
import { generateEvents } from '../../producers/syntheticGenerator.ts';
import { createTestApi, type TestApi } from '../support/testApi.ts';

/*
 * The OpenAPI document against the routes it describes: every route and method, its parameters
 * or body, its statuses; every $ref resolves; and real answers of the API validate against the
 * document's own response schemas (with the small JSON Schema checker below, which covers the
 * keywords z.toJSONSchema emits), so the document cannot drift from what the API sends.
 */

type Schema = Record<string, any>;
const doc = buildOpenApiDocument() as Schema;

function resolve(ref: string): Schema {
  if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref}`);
  let node: any = doc;
  for (const part of ref.slice(2).split('/')) {
    node = node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
    if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
  }
  return node;
}

const FORMATS: Record<string, RegExp> = {
  date: /^\d{4}-\d{2}-\d{2}$/,
  'date-time': /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/,
};

/** Problems of `value` against `schema` (empty: valid). */
function validate(schema: Schema, value: unknown, path = '$'): string[] {
  if (schema.$ref) return validate(resolve(schema.$ref), value, path);
  const problems: string[] = [];
  const fail = (message: string) => problems.push(`${path}: ${message}`);
  if (schema.anyOf && !schema.anyOf.some((option: Schema) => validate(option, value, path).length === 0)) fail('matches no anyOf option');
  if (schema.oneOf && schema.oneOf.filter((option: Schema) => validate(option, value, path).length === 0).length !== 1) fail('matches not exactly one oneOf option');
  if ('const' in schema && value !== schema.const) fail(`is not ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) fail(`is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.type !== undefined) {
    const types: string[] = [schema.type].flat();
    const actual = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    const ok = types.some((type) => type === actual || (type === 'integer' && Number.isInteger(value)) || (type === 'number' && actual === 'number'));
    if (!ok) return [`${path}: is ${actual}, expected ${types.join('|')}`];
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`< ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`> ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail(`<= ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail(`>= ${schema.exclusiveMaximum}`);
  }
  if (typeof value === 'string') {
    if (schema.minLength !== undefined && value.length < schema.minLength) fail('too short');
    if (schema.maxLength !== undefined && value.length > schema.maxLength) fail('too long');
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) fail(`does not match ${schema.pattern}`);
    if (schema.format && FORMATS[schema.format] && !FORMATS[schema.format].test(value)) fail(`is not a ${schema.format}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail('too few items');
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail('too many items');
    const prefix: Schema[] = schema.prefixItems ?? [];
    value.forEach((item, i) => {
      const itemSchema = i < prefix.length ? prefix[i] : schema.items;
      if (itemSchema === false) fail(`unexpected item ${i}`);
      else if (itemSchema) problems.push(...validate(itemSchema, item, `${path}[${i}]`));
    });
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    for (const key of schema.required ?? []) if (!(key in record)) fail(`lacks ${key}`);
    for (const [key, item] of Object.entries(record)) {
      const propertySchema = schema.properties?.[key];
      if (propertySchema) problems.push(...validate(propertySchema, item, `${path}.${key}`));
      else if (schema.additionalProperties === false) fail(`has unexpected ${key}`);
      else if (typeof schema.additionalProperties === 'object') problems.push(...validate(schema.additionalProperties, item, `${path}.${key}`));
    }
  }
  return problems;
}

function allRefs(node: unknown, found: string[] = []): string[] {
  if (Array.isArray(node)) node.forEach((item) => allRefs(item, found));
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') found.push(value);
      else allRefs(value, found);
    }
  }
  return found;
}

/** Every Schema Object of the document with its JSON pointer: components, parameters, bodies, responses. */
function schemaObjects(document: Schema): Array<[string, Schema]> {
  const found: Array<[string, Schema]> = Object.entries(document.components.schemas).map(([name, schema]) => [`#/components/schemas/${name}`, schema as Schema]);
  for (const [path, item] of Object.entries(document.paths as Record<string, Schema>)) {
    for (const [method, operation] of Object.entries(item as Record<string, Schema>)) {
      const at = `${path} ${method}`;
      (operation.parameters ?? []).forEach((parameter: Schema) => found.push([`${at} parameter ${parameter.name}`, parameter.schema]));
      for (const [media, content] of Object.entries(operation.requestBody?.content ?? {})) found.push([`${at} body ${media}`, (content as Schema).schema]);
      for (const [status, response] of Object.entries(operation.responses as Record<string, Schema>)) {
        for (const [media, content] of Object.entries(response.content ?? {})) found.push([`${at} ${status} ${media}`, (content as Schema).schema]);
      }
    }
  }
  return found;
}

/** Problems an OpenAPI 3.1 validator finds: the document's structure, then each Schema Object against JSON Schema 2020-12. */
async function openApiProblems(document: Schema): Promise<string[]> {
  const structure = await new Validator().validate(document);
  if (!structure.valid) return [JSON.stringify(structure.errors)];
  // @seriousme/openapi-schema-validator checks the 3.1 structure but takes Schema Objects as
  // they come; the 3.1 dialect is JSON Schema 2020-12, whose meta-schema Ajv2020 holds.
  const ajv = new Ajv2020({ strict: false });
  return schemaObjects(document).flatMap(([where, schema]) => (ajv.validateSchema(schema) ? [] : [`${where}: ${ajv.errorsText(ajv.errors)}`]));
}

describe('OpenAPI document, by validators', () => {
  it('is valid OpenAPI 3.1, every Schema Object valid JSON Schema 2020-12', async () => {
    const validator = new Validator();
    expect((await validator.validate(doc)).valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(schemaObjects(doc).length).toBeGreaterThan(30);
    expect(await openApiProblems(doc)).toEqual([]);
  });

  it('catches what Schemathesis found: an array-form items, a missing description', async () => {
    const tuple = structuredClone(doc);
    tuple.components.schemas.PriceElasticityResponse.properties.ci = { type: 'array', items: [{ type: 'number' }, { type: 'number' }] };
    expect((await openApiProblems(tuple)).join()).toContain('PriceElasticityResponse: data/properties/ci/items must be object,boolean');
    const undescribed = structuredClone(doc);
    delete undescribed.paths['/demand-insights/clv'].post.responses[200].description;
    expect(await openApiProblems(undescribed)).not.toEqual([]);
  });

  it('writes ci and band as arrays of two numbers, no prefixItems anywhere', () => {
    expect(JSON.stringify(doc)).not.toContain('prefixItems');
    const ci = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 };
    expect(doc.components.schemas.PriceElasticityResponse.properties.ci).toEqual(ci);
    expect(doc.components.schemas.PriceOptimizationResponse.properties.elasticity.properties.ci).toEqual(ci);
    expect(doc.components.schemas.PriceOptimizationRequest.properties.band).toMatchObject({ items: { type: 'number', minimum: 0.01, maximum: 100 }, minItems: 2, maxItems: 2 });
  });
});

describe('OpenAPI document', () => {
  it('is an OpenAPI 3.1 document with info, paths and components', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBeTruthy();
    expect(doc.info.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Object.keys(doc.paths).sort()).toEqual([...ROUTES.map((route) => route.path), OPENAPI_PATH].sort());
    const operationIds = Object.values(doc.paths).flatMap((item: any) => Object.values(item).map((operation: any) => operation.operationId));
    expect(new Set(operationIds).size).toBe(operationIds.length);
  });

  it('has every $ref resolvable and no $schema keys left inside', () => {
    for (const ref of allRefs(doc)) expect(() => resolve(ref)).not.toThrow();
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
  });

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))('documents %s as the route handles it', (_, route) => {
    const operation = doc.paths[route.path][route.method.toLowerCase()];
    expect(operation).toBeDefined();
    // 503: the lake not readable yet (the local stack serves while its replay builds the lake).
    expect(Object.keys(operation.responses).map(Number).sort()).toEqual([200, 400, ...route.errors, 500, 503].sort());
    const schemaKeys = Object.keys((route.schema as any).def.shape ?? (route.schema as any).def.in?.def?.shape ?? {});
    if (route.input === 'query') {
      expect(operation.requestBody).toBeUndefined();
      expect(operation.parameters.map((p: Schema) => p.name).sort()).toEqual(schemaKeys.sort());
      // Query parameters are optional numbers with defaults, but for the one id customer-orders
      // needs and the at-risk list's opaque cursor.
      const required = route.path.endsWith('/customer-orders') ? ['customer_id'] : [];
      expect(operation.parameters.filter((p: Schema) => p.required).map((p: Schema) => p.name)).toEqual(required);
      for (const parameter of operation.parameters) {
        expect(parameter.in).toBe('query');
        if (required.includes(parameter.name)) continue;
        expect(parameter.required).toBe(false);
        if (parameter.name === 'cursor') {
          expect(parameter.schema.type).toBe('string');
          continue;
        }
        expect(parameter.schema.default).toBeDefined();
        expect(['integer', 'number']).toContain(parameter.schema.type);
      }
    } else {
      expect(operation.parameters).toBeUndefined();
      const body = resolve(operation.requestBody.content['application/json'].schema.$ref);
      expect(body.additionalProperties).toBe(false);
      expect(Object.keys(body.properties).sort()).toEqual(schemaKeys.sort());
      expect(validate(body, route.example)).toEqual([]);
    }
    expect(route.schema.safeParse(route.example).success).toBe(true);
  });

  it('documents the required fields of price-optimization as required', () => {
    const body = resolve(doc.paths['/demand-insights/price-optimization'].post.requestBody.content['application/json'].schema.$ref);
    expect([...body.required].sort()).toEqual(['cost_per_unit', 'current_price', 'current_quantity', 'product_id']);
    expect(doc.paths['/demand-insights/price-optimization'].post.requestBody.required).toBe(true);
    expect(doc.paths['/demand-insights/forecast'].post.requestBody.required).toBe(false);
  });

  it('checks values with the same bounds the handler enforces', () => {
    const segments = doc.paths['/demand-insights/segments'].get.parameters[0];
    expect(segments).toMatchObject({ name: 'n_clusters', schema: { type: 'integer', minimum: 2, maximum: 12, default: 5 } });
    const atRisk = Object.fromEntries(doc.paths['/demand-insights/at-risk-customers'].get.parameters.map((p: Schema) => [p.name, p.schema]));
    expect(atRisk.threshold).toMatchObject({ minimum: 0, maximum: 1, default: 0.6 });
    expect(atRisk.limit).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });
    const optimization = resolve(doc.paths['/demand-insights/price-optimization'].post.requestBody.content['application/json'].schema.$ref).properties;
    expect(optimization.current_price).toMatchObject({ type: 'number', minimum: 0.0001, maximum: 1_000_000 });
    expect(optimization.current_quantity).toMatchObject({ type: 'number', minimum: 0, maximum: 1e12 });
    expect(optimization.cost_per_unit).toMatchObject({ type: 'number', minimum: 0, maximum: 1_000_000 });
  });
});

describe('OpenAPI document against live answers', () => {
  let api: TestApi;
  let product: string;

  beforeAll(async () => {
    api = await createTestApi({ events: generateEvents({ customers: 150, days: 400, seed: 21, start: '2023-06-01' }) });
    product = [...weeklyTables(await api.lake.weeklyProductSales({})).values()].find((table) => eligibility(table).eligible)!.productId;
  });

  const responseSchema = (method: string, path: string, status: number) => {
    const content = doc.paths[path][method.toLowerCase()].responses[status].content['application/json'];
    return content.schema as Schema;
  };

  it('describes every 200 answer the API gives', async () => {
    const requests: Array<[string, string, unknown?]> = [
      ['GET', '/demand-insights/segments?n_clusters=4'],
      ['POST', '/demand-insights/forecast', { product_id: product, forecast_days: 10 }],
      ['POST', '/demand-insights/price-elasticity', { product_id: product }],
      ['POST', '/demand-insights/price-elasticity', {}],
      ['POST', '/demand-insights/price-optimization', { product_id: product, current_price: 3, current_quantity: 10, cost_per_unit: 1 }],
      ['POST', '/demand-insights/clv', { customer_ids: ['U000001', 'ghost'] }],
      ['POST', '/demand-insights/churn', { limit: 10 }],
      ['GET', '/demand-insights/at-risk-customers?threshold=0.2&limit=5'],
    ];
    for (const [method, url, body] of requests) {
      const response = await api.call(method, url, body);
      expect(response.status, `${method} ${url}: ${response.raw}`).toBe(200);
      expect(validate(responseSchema(method, url.split('?')[0], 200), response.body), `${method} ${url}`).toEqual([]);
    }
  });

  it('describes the error answers too', async () => {
    const requests: Array<[string, string, unknown, number]> = [
      ['GET', '/demand-insights/segments?n_clusters=1', undefined, 400],
      ['POST', '/demand-insights/forecast', { product_id: 'ghost' }, 404],
      ['POST', '/demand-insights/price-elasticity', { product_id: 'P0001', category: 'C99' }, 404],
    ];
    for (const [method, url, body, status] of requests) {
      const response = await api.call(method, url, body);
      expect(response.status).toBe(status);
      expect(validate(responseSchema(method, url.split('?')[0], status), response.body)).toEqual([]);
    }
  });

  it('is what GET /demand-insights/openapi.json serves', async () => {
    expect((await api.call('GET', OPENAPI_PATH)).body).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});

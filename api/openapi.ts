import { z } from 'zod';
import { OPENAPI_PATH, ROUTES, type Route } from './routes/index.ts';
import { ErrorResponseSchema } from './schemas.ts';

/**
 * The OpenAPI 3.1 document of the API, generated from the routes' own zod schemas with
 * z.toJSONSchema (JSON Schema 2020-12, the dialect OpenAPI 3.1 uses), and served at
 * GET /demand-insights/openapi.json. Request schemas are documented as callers send them
 * (io: "input"), responses as the API writes them (io: "output").
 */

type JsonSchema = Record<string, unknown>;

const API_TITLE = 'Demand Insights API';
const API_VERSION = '1.0.0';

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input: `error.field` names the offending parameter.',
  404: 'Unknown product, category or customers (or no such route).',
  422: 'Well-formed, but the data cannot answer it (e.g. too little price variation).',
  500: 'Internal error; the response carries only a request id.',
  503: 'The lake is not readable yet (the local stack builds it while its replay runs): retry after the Retry-After header\'s seconds.',
};

/**
 * OpenAPI links: where one answer's values feed another request, so a stateful tester (and a
 * reader) can follow them: an at-risk customer's scores, and the next page of a listing.
 */
const customerLinks = (pointer: string) => ({
  ClvOfCustomer: { operationId: 'postClv', requestBody: { customer_ids: [`$response.body#${pointer}`] }, description: 'The CLV of this customer.' },
  ChurnOfCustomer: { operationId: 'postChurn', requestBody: { customer_ids: [`$response.body#${pointer}`] }, description: 'The churn score of this customer.' },
});
const nextPageLink = (operationId: string) => ({
  NextPage: { operationId, requestBody: { cursor: '$response.body#/next_cursor' }, description: 'The next page of all customers (while next_cursor is not null).' },
});
const LINKS: Record<string, Record<string, JsonSchema>> = {
  getAtRiskCustomers: customerLinks('/customers/0/customer_id'),
  postClv: nextPageLink('postClv'),
  postChurn: nextPageLink('postChurn'),
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return uniformTuplesAsArrays(rest) as JsonSchema;
}

/**
 * A tuple whose places all take the same schema ([lower, upper] of two numbers) is written as an
 * array of that schema with exactly that many items. Both spellings accept the same values, but
 * testers and client generators that turn 2020-12's `prefixItems` into draft-7's array-form
 * `items` then reject their own rewrite as invalid 3.1 (Schemathesis 4.32.5 does, on response
 * schemas); the plain array form reads the same in every dialect.
 */
function uniformTuplesAsArrays(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(uniformTuplesAsArrays);
  if (node === null || typeof node !== 'object') return node;
  const entries = Object.entries(node).map(([key, value]) => [key, uniformTuplesAsArrays(value)] as const);
  const schema: JsonSchema = Object.fromEntries(entries);
  const places = schema.prefixItems;
  if (!Array.isArray(places) || places.length === 0 || schema.items !== false) return schema;
  const first = JSON.stringify(places[0]);
  if (!places.every((place) => JSON.stringify(place) === first)) return schema;
  const { prefixItems: _places, ...rest } = schema;
  return { ...rest, items: places[0], minItems: places.length, maxItems: places.length };
}

function componentName(operationId: string, suffix: string): string {
  return `${operationId.replace(/^(get|post)/, '')}${suffix}`;
}

/** Query parameters from a strict object schema: one parameter per property. */
function queryParameters(route: Route): JsonSchema[] {
  const input = jsonSchema(route.schema, 'input');
  const output = jsonSchema(route.schema, 'output');
  const properties = (input.properties ?? {}) as Record<string, JsonSchema>;
  const outputProperties = (output.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((input.required ?? []) as string[]);
  return Object.entries(properties).map(([name, schema]) => {
    const { description, ...rest } = schema;
    const withDefault = outputProperties[name]?.default !== undefined ? { ...rest, default: outputProperties[name].default } : rest;
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(description !== undefined ? { description } : {}),
      schema: withDefault,
      example: route.example[name],
    };
  });
}

export function buildOpenApiDocument(routes: readonly Route[] = ROUTES): JsonSchema {
  const schemas: Record<string, JsonSchema> = { Error: jsonSchema(ErrorResponseSchema, 'output') };
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const errorResponse = (status: number) => ({
    description: ERROR_DESCRIPTIONS[status],
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  });

  for (const route of routes) {
    const responseName = componentName(route.operationId, 'Response');
    schemas[responseName] = jsonSchema(route.response, 'output');
    const operation: JsonSchema = {
      operationId: route.operationId,
      summary: route.summary,
      description: route.description,
      responses: {
        200: {
          description: 'OK',
          content: { 'application/json': { schema: { $ref: `#/components/schemas/${responseName}` } } },
          ...(LINKS[route.operationId] ? { links: LINKS[route.operationId] } : {}),
        },
        ...Object.fromEntries([400, ...route.errors, 500, 503].map((status) => [status, errorResponse(status)])),
      },
    };
    if (route.input === 'query') {
      operation.parameters = queryParameters(route);
    } else {
      const requestName = componentName(route.operationId, 'Request');
      schemas[requestName] = jsonSchema(route.schema, 'input');
      const required = ((schemas[requestName].required as string[] | undefined) ?? []).length > 0;
      operation.requestBody = {
        required,
        content: { 'application/json': { schema: { $ref: `#/components/schemas/${requestName}` }, example: route.example } },
      };
    }
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }

  paths[OPENAPI_PATH] = {
    get: {
      operationId: 'getOpenApiDocument',
      summary: 'This document',
      responses: { 200: { description: 'The OpenAPI 3.1 document', content: { 'application/json': { schema: { type: 'object' } } } } },
    },
  };

  return {
    openapi: '3.1.0',
    info: {
      title: API_TITLE,
      version: API_VERSION,
      description:
        'Customer segments, demand forecasts, price elasticity and optimisation, and live churn/CLV scores. Answered from trained models and cached lake aggregates (Athena on AWS, DuckDB locally); the paths and parameters of the original API are unchanged. Request bodies and query strings are strict: unknown fields are a 400 naming them.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: { schemas },
  };
}

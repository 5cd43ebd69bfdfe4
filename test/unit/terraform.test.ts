import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENTRIES, LAMBDA_HANDLER } from '../../bin/commands/bundle.ts';
import { alertSchemaFileName } from '../../consumers/alerts/alertSchemas.ts';
import { CONSUMER_V8_FLAGS, ConsumerEnvSchema } from '../../consumers/consumerConfig.ts';
import { DUE_INDEX, OUTBOX_INDEX, stateTableDefinition } from '../../consumers/stateStore/dynamoStateStore.ts';
import { ApiEnvSchema } from '../../api/lambda.ts';
import { CurationEnvSchema } from '../../lake/curationConfig.ts';
import { TrainerEnvSchema } from '../../trainer/trainerConfig.ts';
import { ALERT_DETAIL_TYPES, ALERT_SOURCE } from '../../models/customer/alertEvent.ts';
import { DEFAULT_RISK_POLICY } from '../../models/customer/riskPolicy.ts';

/*
 * The Terraform contract, checked on the parsed .tf files (no terraform binary or provider needed):
 * the table equals stateTableDefinition(), the event source mapping reports partial failures and
 * has an on-failure destination, both Lambdas get every required variable of ConsumerEnvSchema,
 * run nodejs22.x with the bundle's handler, the schema registry is fed the committed files, the
 * API module keeps the old module's interface, the API is closed by default, and every function
 * is traced and encrypted with kms_key_arn when it is set.
 *
 * The files are read by @cdktf/hcl2json: HashiCorp's own HCL parser (the one Terraform uses),
 * compiled to WebAssembly, so what Terraform reads is what the tests read; it runs in-process,
 * with no Python. Its parent project (CDK for Terraform) was deprecated in December 2025, so it
 * is pinned to 0.21.0; python-hcl2 (in the Checkov venv) is the fallback if it ever stops working.
 * Blocks come out as arrays of bodies and expressions as "${...}" strings (see `expr`).
 */

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TF_DIR = join(ROOT, 'terraform');
const MODULE_DIR = join(TF_DIR, 'modules', 'demand-insights-lambda');
const EXAMPLE_DIR = join(TF_DIR, 'examples', 'old-module-caller');

// ---------------------------------------------------------------------------------------------
// Parsed configurations

/* eslint-disable @typescript-eslint/no-explicit-any */
type Body = Record<string, any>;

interface TfConfig {
  resource: Record<string, Record<string, Body[]>>;
  data: Record<string, Record<string, Body[]>>;
  variable: Record<string, Body[]>;
  output: Record<string, Body[]>;
  module: Record<string, Body[]>;
  check: Record<string, Body[]>;
  locals: Body;
  moved: Body[];
}

/** Every .tf file of one directory (one Terraform module), merged as Terraform merges them. */
async function loadConfig(dir: string): Promise<TfConfig> {
  const config: TfConfig = { resource: {}, data: {}, variable: {}, output: {}, module: {}, check: {}, locals: {}, moved: [] };
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tf')).sort()) {
    const parsed = (await parse(file, readFileSync(join(dir, file), 'utf8'))) as Record<string, any>;
    for (const [kind, content] of Object.entries(parsed)) {
      if (kind === 'locals') for (const body of content as Body[]) Object.assign(config.locals, body);
      else if (kind === 'moved') config.moved.push(...(content as Body[]));
      else if (kind === 'resource' || kind === 'data') {
        for (const [type, byName] of Object.entries(content as Record<string, Record<string, Body[]>>)) {
          for (const [name, bodies] of Object.entries(byName)) ((config[kind][type] ??= {})[name] ??= []).push(...bodies);
        }
      } else if (kind in config) {
        for (const [name, bodies] of Object.entries(content as Record<string, Body[]>)) ((config as any)[kind][name] ??= []).push(...bodies);
      }
    }
  }
  return config;
}

const tf = await loadConfig(TF_DIR);
const mod = await loadConfig(MODULE_DIR);
const example = await loadConfig(EXAMPLE_DIR);

/** An attribute holding one whole expression ("${x}") as the expression (x); other values as they are. */
function expr(value: unknown): unknown {
  if (typeof value !== 'string' || !value.startsWith('${') || !value.endsWith('}')) return value;
  let depth = 0;
  for (let i = 1; i < value.length; i++) {
    if (value[i] === '{') depth++;
    else if (value[i] === '}' && --depth === 0) return i === value.length - 1 ? value.slice(2, -1) : value;
  }
  return value;
}

function one(config: TfConfig, type: string, name: string): Body {
  const found = config.resource[type]?.[name] ?? [];
  if (found.length !== 1) throw new Error(`expected one resource "${type}" "${name}", found ${found.length}`);
  return found[0];
}

const resource = (type: string, name: string) => one(tf, type, name);

function resourcesOf(type: string, config: TfConfig = tf): { name: string; body: Body }[] {
  return Object.entries(config.resource[type] ?? {}).flatMap(([name, bodies]) => bodies.map((body) => ({ name, body })));
}

function dataSource(config: TfConfig, type: string, name: string): Body {
  const found = config.data[type]?.[name] ?? [];
  if (found.length !== 1) throw new Error(`expected one data "${type}" "${name}", found ${found.length}`);
  return found[0];
}

/** Nested blocks of a type (always arrays in the parsed form). */
function nested(body: Body, type: string): Body[] {
  return (body[type] as Body[] | undefined) ?? [];
}

/** The statements of a policy document, the contents of dynamic "statement" blocks included. */
function statements(document: Body): Body[] {
  const dynamic = (document.dynamic?.statement as Body[] | undefined) ?? [];
  return [...nested(document, 'statement'), ...dynamic.flatMap((d) => nested(d, 'content'))];
}

function variableOf(config: TfConfig, name: string): Body {
  const found = config.variable[name] ?? [];
  if (found.length !== 1) throw new Error(`variable "${name}" is not declared once`);
  return found[0];
}

const variableDefault = (name: string): unknown => variableOf(tf, name).default;

/** The keys of a map held by a local (its value) or written inline. */
function mapOf(value: unknown, config: TfConfig = tf): Record<string, unknown> {
  const expression = expr(value);
  if (typeof expression === 'string') {
    const local = /^local\.(\w+)$/.exec(expression);
    if (!local || !(local[1] in config.locals)) throw new Error(`not a map or a local holding one: ${expression}`);
    return mapOf(config.locals[local[1]], config);
  }
  return expression as Record<string, unknown>;
}

/** var.* and local.* referenced anywhere in a configuration's parsed bodies. */
function references(config: TfConfig, kind: 'var' | 'local'): Set<string> {
  const { variable: _declarations, ...used } = config;
  return new Set([...JSON.stringify(used).matchAll(new RegExp(`\\b${kind}\\.(\\w+)`, 'g'))].map((m) => m[1]));
}

// ---------------------------------------------------------------------------------------------

describe('terraform: DynamoDB state table', () => {
  const definition = stateTableDefinition('x');
  const tables = resourcesOf('aws_dynamodb_table');

  it('is the only table', () => {
    expect(tables.map((t) => t.name), 'aws_dynamodb_table resources').toHaveLength(1);
  });

  const table = tables[0]?.body ?? {};

  it('has the keys, attributes and billing of stateTableDefinition()', () => {
    expect(table.billing_mode, 'billing_mode drifted from stateTableDefinition().BillingMode').toBe(definition.BillingMode);
    const hash = definition.KeySchema!.find((k) => k.KeyType === 'HASH')!.AttributeName;
    const range = definition.KeySchema!.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    expect(table.hash_key, 'hash_key drifted from stateTableDefinition().KeySchema').toBe(hash);
    expect(table.range_key, 'range_key drifted from stateTableDefinition().KeySchema').toBe(range);

    const attributes = nested(table, 'attribute').map((b) => ({ name: b.name, type: b.type }));
    const expected = definition.AttributeDefinitions!.map((a) => ({ name: a.AttributeName, type: a.AttributeType }));
    const byName = (a: { name: unknown }, b: { name: unknown }) => String(a.name).localeCompare(String(b.name));
    expect(attributes.sort(byName), 'attribute blocks drifted from stateTableDefinition().AttributeDefinitions').toEqual(expected.sort(byName));
  });

  it('has the GSIs of stateTableDefinition() (names, keys, projection)', () => {
    const actual = nested(table, 'global_secondary_index').map((b) => ({
      name: b.name,
      hash: b.hash_key,
      range: b.range_key,
      projection: b.projection_type,
      nonKey: b.non_key_attributes,
    }));
    const expected = (definition.GlobalSecondaryIndexes ?? []).map((index) => ({
      name: index.IndexName,
      hash: index.KeySchema!.find((k) => k.KeyType === 'HASH')!.AttributeName,
      range: index.KeySchema!.find((k) => k.KeyType === 'RANGE')?.AttributeName,
      projection: index.Projection!.ProjectionType,
      nonKey: index.Projection!.NonKeyAttributes,
    }));
    expect(actual, 'global_secondary_index blocks drifted from stateTableDefinition().GlobalSecondaryIndexes').toEqual(expected);
    expect(expected.map((i) => i.name)).toEqual(expect.arrayContaining([DUE_INDEX, OUTBOX_INDEX]));
    expect(nested(table, 'local_secondary_index'), 'stateTableDefinition() has no LSI').toEqual([]);
  });

  it('has point-in-time recovery on', () => {
    expect(nested(table, 'point_in_time_recovery').map((b) => b.enabled), 'point_in_time_recovery { enabled = true }').toEqual([true]);
  });

  it('grants the sweep Query on exactly the due and outbox indexes', () => {
    const query = statements(dataSource(tf, 'aws_iam_policy_document', 'sweep')).filter((s) => (s.actions as string[]).includes('dynamodb:Query'));
    expect(query.flatMap((s) => s.resources as string[]).sort(), `IAM must name the indexes the sweep queries (${DUE_INDEX}, ${OUTBOX_INDEX})`).toEqual(
      [`\${aws_dynamodb_table.state.arn}/index/${DUE_INDEX}`, `\${aws_dynamodb_table.state.arn}/index/${OUTBOX_INDEX}`].sort(),
    );
  });
});

describe('terraform: Kinesis event source mapping', () => {
  // The optional Kafka mapping (terraform/kafka.tf) is checked below.
  const mappings = resourcesOf('aws_lambda_event_source_mapping').filter((m) => m.name !== 'kafka_consumer');

  it('exists once, from the stream to the consumer', () => {
    expect(mappings, 'aws_lambda_event_source_mapping resources').toHaveLength(1);
    const esm = mappings[0].body;
    expect(expr(esm.event_source_arn)).toMatch(/^aws_kinesis_stream\.\w+\.arn$/);
    expect(expr(esm.function_name)).toMatch(/^aws_lambda_function\.consumer\.(arn|function_name)$/);
  });

  it('reports partial batch failures, bisects, and bounds retries', () => {
    const esm = mappings[0].body;
    expect(esm.function_response_types, 'without ReportBatchItemFailures Lambda ignores batchItemFailures').toEqual(['ReportBatchItemFailures']);
    expect(esm.bisect_batch_on_function_error).toBe(true);
    expect(expr(esm.starting_position)).toBe('var.starting_position');
    for (const [setting, variable, expected] of [
      ['batch_size', 'batch_size', 100],
      ['parallelization_factor', 'parallelization_factor', 1],
      ['maximum_retry_attempts', 'maximum_retry_attempts', 10],
      ['maximum_batching_window_in_seconds', 'maximum_batching_window_in_seconds', undefined],
      ['maximum_record_age_in_seconds', 'maximum_record_age_in_seconds', undefined],
    ] as const) {
      expect(expr(esm[setting]), `${setting} should come from var.${variable}`).toBe(`var.${variable}`);
      if (expected !== undefined) expect(variableDefault(variable), `default of var.${variable}`).toBe(expected);
    }
    expect(variableDefault('starting_position')).toMatch(/^(TRIM_HORIZON|LATEST)$/);
  });

  it('sends what still fails to an SQS on-failure destination the consumer may write to', () => {
    const esm = mappings[0].body;
    const onFailure = nested(esm, 'destination_config').flatMap((b) => nested(b, 'on_failure'));
    expect(onFailure, 'destination_config { on_failure { ... } }').toHaveLength(1);
    const destination = expr(onFailure[0].destination_arn);
    const queue = /^aws_sqs_queue\.(\w+)\.arn$/.exec(String(destination));
    expect(queue, `on_failure.destination_arn should be an SQS queue's arn, is ${destination}`).not.toBeNull();
    resource('aws_sqs_queue', queue![1]);
    const sends = statements(dataSource(tf, 'aws_iam_policy_document', 'consumer')).some(
      (s) => (s.actions as string[]).includes('sqs:SendMessage') && (s.resources as string[]).includes(`\${aws_sqs_queue.${queue![1]}.arn}`),
    );
    expect(sends, `the consumer role needs sqs:SendMessage on aws_sqs_queue.${queue![1]}`).toBe(true);
  });
});

describe('terraform: optional Kafka consumer (MSK or self-managed)', () => {
  const mapping = resource('aws_lambda_event_source_mapping', 'kafka_consumer');
  const fn = resource('aws_lambda_function', 'kafka_consumer');
  const kafkaTf = readFileSync(join(TF_DIR, 'kafka.tf'), 'utf8');
  const kafkaResources = [...kafkaTf.matchAll(/(?:^|\n)resource "([^"]+)" "([^"]+)"/g)].map((m) => [m[1], m[2]] as const);

  it('is off unless a cluster ARN or bootstrap servers are given: every resource counts on it', () => {
    expect(variableDefault('kafka_msk_cluster_arn')).toBe('');
    expect(variableDefault('kafka_bootstrap_servers')).toBe('');
    expect(expr(tf.locals.kafka_enabled), 'local.kafka_enabled from the ARN or the bootstrap servers').toBe('var.kafka_msk_cluster_arn != "" || var.kafka_bootstrap_servers != ""');
    expect(kafkaResources.length).toBeGreaterThanOrEqual(5);
    for (const [type, name] of kafkaResources) expect(expr(resource(type, name).count), `${type}.${name}`).toBe('local.kafka_count');
    expect(expr(tf.locals.kafka_count)).toBe('local.kafka_enabled ? 1 : 0');
  });

  it('maps the topic to the Kafka handler bundle, MSK by ARN or self-managed by bootstrap servers', () => {
    expect(expr(mapping.function_name)).toBe('aws_lambda_function.kafka_consumer[0].arn');
    expect(expr(mapping.event_source_arn)).toBe('local.kafka_self_managed ? null : var.kafka_msk_cluster_arn');
    expect(mapping.topics).toEqual(['${var.kafka_topic}']);
    expect(expr(mapping.starting_position)).toBe('var.kafka_starting_position');
    expect(variableDefault('kafka_starting_position')).toMatch(/^(TRIM_HORIZON|LATEST)$/);
    const dynamic = mapping.dynamic as Record<string, Body[]>;
    expect(nested(dynamic.self_managed_event_source[0], 'content')[0].endpoints).toEqual({ KAFKA_BOOTSTRAP_SERVERS: '${var.kafka_bootstrap_servers}' });
    expect(Object.keys(dynamic)).toEqual(expect.arrayContaining(['amazon_managed_kafka_event_source_config', 'self_managed_kafka_event_source_config']));
    const limit = Number(variableDefault('kafka_batch_size'));
    expect(limit).toBeGreaterThanOrEqual(1);
    expect(limit).toBeLessThanOrEqual(10_000);
  });

  it('runs the kafka-consumer bundle on nodejs22.x with the scorer environment and a role of its own', () => {
    expect(fn.runtime).toBe('nodejs22.x');
    expect(fn.handler).toBe(LAMBDA_HANDLER);
    expect(String(fn.filename)).toMatch(/\/kafka-consumer\.zip$/);
    const entry = LAMBDA_ENTRIES.find((e) => e.name === 'kafka-consumer');
    expect(entry?.entry).toBe('consumers/lambda/kafkaConsumer.ts');
    expect(readFileSync(join(ROOT, entry!.entry), 'utf8')).toMatch(/export\s+const\s+handler\b/);
    expect(expr(nested(fn, 'environment')[0].variables)).toBe('local.scorer_environment');
    expect(expr(fn.role)).toBe('aws_iam_role.kafka_consumer[0].arn');
    const actions = statements(dataSource(tf, 'aws_iam_policy_document', 'kafka_consumer')).flatMap((statement) => statement.actions as string[]);
    for (const action of ['dynamodb:PutItem', 'dynamodb:BatchGetItem', 'sqs:SendMessage', 'kafka:GetBootstrapBrokers', 'ec2:CreateNetworkInterface']) {
      expect(actions, `the Kafka consumer role needs ${action}`).toContain(action);
    }
  });
});

describe('terraform: Lambdas', () => {
  const functions = resourcesOf('aws_lambda_function');
  const bundled = LAMBDA_ENTRIES.filter((entry) => existsSync(join(ROOT, entry.entry)));
  const shape = ConsumerEnvSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
  const requiredEnv = Object.keys(shape).filter((key) => !shape[key].safeParse(undefined).success);
  const knownEnv = new Set(Object.keys(shape));
  const extraEnv = /^(NODE_OPTIONS|POWERTOOLS_[A-Z_]+)$/;
  const scorerEnvironment = mapOf(tf.locals.scorer_environment);

  it('run the consumer with the V8 flags `bench consumer` measures it with', () => {
    const options = scorerEnvironment.NODE_OPTIONS;
    expect(typeof options, 'NODE_OPTIONS in local.scorer_environment (terraform/main.tf)').toBe('string');
    for (const flag of CONSUMER_V8_FLAGS) expect(String(options).split(/\s+/)).toContain(flag);
  });

  it('deploy the consumer and the sweep', () => {
    expect(functions.map((f) => f.name).sort()).toEqual(expect.arrayContaining(['consumer', 'sweep']));
  });

  it.each(['consumer', 'sweep'])('%s: nodejs22.x on arm64, handler and package from the bundle', (name) => {
    const fn = resource('aws_lambda_function', name);
    expect(fn.runtime, 'runtime').toBe('nodejs22.x');
    expect(fn.handler, `handler must match the bundle (index.mjs exporting handler)`).toBe(LAMBDA_HANDLER);
    const entry = LAMBDA_ENTRIES.find((e) => e.name === name);
    expect(entry, `bin/commands/bundle.ts has no entry named ${name}`).toBeDefined();
    expect(fn.filename, "filename should be the bundle command's zip").toMatch(new RegExp(`/${name}\\.zip$`));
    expect(fn.source_code_hash, 'source_code_hash should hash the same zip').toContain(`/${name}.zip")`);
    expect(fn.architectures).toEqual(['arm64']);
    // The handler named by LAMBDA_HANDLER must be what the entry point exports.
    const source = readFileSync(join(ROOT, entry!.entry), 'utf8');
    expect(source, `${entry!.entry} must export handler`).toMatch(/export\s+(const|async\s+function|function)\s+handler\b/);
  });

  it.each(['consumer', 'sweep'])('%s: sets every required ConsumerEnvSchema variable, and nothing unknown', (name) => {
    const fn = resource('aws_lambda_function', name);
    const environment = nested(fn, 'environment');
    expect(environment, `${name} has no environment block`).toHaveLength(1);
    const env = mapOf(environment[0].variables);
    const missing = requiredEnv.filter((key) => !(key in env));
    expect(missing, `${name} lacks required env vars (ConsumerEnvSchema fields without defaults)`).toEqual([]);
    const unknown = Object.keys(env).filter((key) => !knownEnv.has(key) && !extraEnv.test(key));
    expect(unknown, `${name} sets env vars ConsumerEnvSchema does not read (typo?)`).toEqual([]);
    expect(Object.keys(env).filter((key) => key === 'AWS_REGION' || key.endsWith('_ENDPOINT')), 'AWS_REGION is reserved by Lambda; *_ENDPOINT is for local stand-ins').toEqual([]);
    if ('MODEL_PATH' in env) expect(env.MODEL_PATH, 'the bundle ships the model as ./model.json').toBe('./model.json');
  });

  it('keeps the bundles entry points in step with the Lambdas deployed', () => {
    // Resource names take underscores where bundle names take dashes (kafka_consumer, kafka-consumer).
    for (const entry of bundled.filter((e) => e.name !== 'api')) {
      expect(functions.map((f) => f.name.replace(/_/g, '-')), `bundle ${entry.name} has no aws_lambda_function "${entry.name}"`).toContain(entry.name);
    }
  });

  it("defaults the scoring policy to the code's defaults", () => {
    const defaults = ConsumerEnvSchema.parse({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://example.com/q' });
    expect(variableDefault('risk_trigger')).toBe(DEFAULT_RISK_POLICY.trigger);
    expect(variableDefault('risk_level')).toBe(DEFAULT_RISK_POLICY.level);
    expect(variableDefault('risk_min_churn')).toBe(DEFAULT_RISK_POLICY.minChurn);
    expect(variableDefault('not_returning_after_days')).toBe(DEFAULT_RISK_POLICY.notReturningAfterDays);
    expect(variableDefault('risk_trigger')).toBe(defaults.RISK_TRIGGER);
    expect(variableDefault('risk_level')).toBe(defaults.RISK_LEVEL);
    expect(variableDefault('risk_min_churn')).toBe(defaults.RISK_MIN_CHURN);
    expect(variableDefault('not_returning_after_days')).toBe(defaults.NOT_RETURNING_AFTER_DAYS);
    expect(variableDefault('score_clock')).toBe(defaults.SCORE_CLOCK);
    expect(variableDefault('sweep_batch_limit')).toBe(defaults.SWEEP_BATCH_LIMIT);
    expect(variableDefault('sweep_schedule')).toBe('rate(15 minutes)');
  });

  it("defaults the event-time bounds to the code's, and passes them to the consumer and the sweep", () => {
    const defaults = ConsumerEnvSchema.parse({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://example.com/q' });
    expect(variableDefault('earliest_event_time')).toBe(defaults.EARLIEST_EVENT_TIME);
    expect(variableDefault('max_event_skew_hours')).toBe(defaults.MAX_EVENT_SKEW_HOURS);
    expect(expr(scorerEnvironment.EARLIEST_EVENT_TIME)).toBe('var.earliest_event_time');
    expect(expr(scorerEnvironment.MAX_EVENT_SKEW_HOURS)).toBe('tostring(var.max_event_skew_hours)');
  });

  it("defaults the duplicate horizon to the code's, and passes it to the consumer and the sweep", () => {
    const defaults = ConsumerEnvSchema.parse({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://example.com/q' });
    expect(variableDefault('duplicate_horizon_days')).toBe(defaults.DUPLICATE_HORIZON_DAYS);
    expect(expr(scorerEnvironment.DUPLICATE_HORIZON_DAYS)).toBe('tostring(var.duplicate_horizon_days)');
  });

  it('runs the sweep on a schedule', () => {
    const schedules = resourcesOf('aws_scheduler_schedule');
    expect(schedules.flatMap((s) => nested(s.body, 'target').map((t) => expr(t.arn)))).toContain('aws_lambda_function.sweep.arn');
  });
});

describe('terraform: alert schemas', () => {
  it('feed the registry the committed schema file of every detail-type', () => {
    const detailTypes = mapOf(tf.locals.alert_detail_types) as Record<string, string>;
    const schemaFiles = mapOf(tf.locals.alert_schema_files) as Record<string, string>;
    expect(tf.locals.alert_source, 'alert source').toBe(ALERT_SOURCE);
    expect(Object.values(detailTypes).sort(), 'detail-types drifted from models/customer/alertEvent.ts').toEqual([...ALERT_DETAIL_TYPES].sort());
    for (const [key, detailType] of Object.entries(detailTypes)) {
      const file = schemaFiles[key];
      expect(file, `no schema file for ${detailType}`).toBeDefined();
      expect(file, `${detailType} should use its committed schema`).toBe(`\${path.module}/../consumers/alerts/schemas/${alertSchemaFileName(detailType as (typeof ALERT_DETAIL_TYPES)[number])}`);
      expect(existsSync(join(TF_DIR, '..', 'consumers', 'alerts', 'schemas', alertSchemaFileName(detailType as (typeof ALERT_DETAIL_TYPES)[number])))).toBe(true);
    }
    const committed = readdirSync(join(ROOT, 'consumers', 'alerts', 'schemas')).filter((f) => f.endsWith('.json')).sort();
    const referenced = Object.values(schemaFiles).map((v) => /schemas\/([^"]+)$/.exec(v)?.[1]).sort();
    expect(referenced, 'every committed schema file is deployed').toEqual(committed);
  });

  it('are aws_schemas_schema resources of a type the registry accepts, built from those files', () => {
    const schemas = resourcesOf('aws_schemas_schema');
    expect(schemas.length).toBeGreaterThan(0);
    for (const schema of schemas) {
      expect(['OpenApi3', 'JSONSchemaDraft4']).toContain(schema.body.type);
      expect(expr(schema.body.for_each)).toBe('local.alert_schema_files');
    }
    expect(String(tf.locals.alert_event_schemas), 'the registry content must come from the committed files').toMatch(/file\(path\)/);
  });
});

describe('terraform: hygiene', () => {
  it.each([
    ['the root module', tf],
    ['modules/demand-insights-lambda', mod],
    ['examples/old-module-caller', example],
  ] as const)('%s declares every var.* and local.* it uses', (_name, config) => {
    const declaredVars = new Set(Object.keys(config.variable));
    expect([...references(config, 'var')].filter((v) => !declaredVars.has(v)), 'undeclared variables').toEqual([]);
    const declaredLocals = new Set(Object.keys(config.locals));
    expect([...references(config, 'local')].filter((l) => !declaredLocals.has(l)), 'undeclared locals').toEqual([]);
  });

  it('grants no wildcard actions in Allow statements', () => {
    const wide: string[] = [];
    for (const [where, config] of [['root', tf], ['module', mod]] as const) {
      for (const [name, documents] of Object.entries(config.data.aws_iam_policy_document ?? {})) {
        for (const statement of documents.flatMap(statements)) {
          if (statement.effect === 'Deny') continue;
          const actions = (statement.actions as string[] | undefined) ?? [];
          wide.push(...actions.filter((a) => a === '*' || a.endsWith(':*')).map((a) => `${where} ${name}: ${a}`));
        }
      }
    }
    expect(wide).toEqual([]);
  });

  it('has log groups with retention for both Lambdas', () => {
    for (const name of ['consumer', 'sweep']) {
      const group = resource('aws_cloudwatch_log_group', name);
      expect(expr(group.retention_in_days)).toBe('var.log_retention_days');
      expect(nested(resource('aws_lambda_function', name), 'logging_config').map((b) => expr(b.log_group))).toEqual([`aws_cloudwatch_log_group.${name}.name`]);
    }
    expect(variableDefault('log_retention_days'), 'a year, as Checkov (CKV_AWS_338) asks').toBe(365);
  });
});

describe('terraform: API (api.tf and modules/demand-insights-lambda)', () => {
  const call = tf.module.api?.[0] ?? {};
  const fn = one(mod, 'aws_lambda_function', 'this');
  const apiShape = ApiEnvSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;

  it('deploys api/lambda.ts from the bundle through the module, nodejs22.x on arm64, under the HTTP API limit', () => {
    const entry = LAMBDA_ENTRIES.find((e) => e.name === 'api');
    expect(entry?.entry).toBe('api/lambda.ts');
    expect(call.source).toBe('./modules/demand-insights-lambda');
    expect(resourcesOf('aws_lambda_function').map((f) => f.name), 'the API Lambda is the module\'s').not.toContain('api');
    expect(fn.runtime).toBe('nodejs22.x');
    expect(fn.handler).toBe(LAMBDA_HANDLER);
    expect(expr(fn.filename)).toBe('var.lambda_zip_path');
    expect(expr(fn.source_code_hash)).toBe('filebase64sha256(var.lambda_zip_path)');
    expect(call.lambda_zip_path).toMatch(/\/api\.zip$/);
    expect(fn.architectures).toEqual(['arm64']);
    expect(readFileSync(join(ROOT, 'api', 'lambda.ts'), 'utf8')).toMatch(/export\s+const\s+handler\b/);
    expect(expr(call.timeout)).toBe('var.api_timeout_seconds');
    expect(Number(variableDefault('api_timeout_seconds'))).toBeLessThanOrEqual(28);
    expect(Number(variableOf(mod, 'timeout').default)).toBeLessThanOrEqual(28);
  });

  it('sets every required ApiEnvSchema variable, and nothing unknown', () => {
    expect(expr(nested(fn, 'environment')[0]?.variables)).toBe('local.environment');
    expect(String(mod.locals.environment), 'base, then STATE_TABLE when given, then the caller\'s').toMatch(/^\$\{merge\(local\.base_environment, .*STATE_TABLE = var\.state_table_name.*, var\.environment\)\}$/);
    const env: Record<string, unknown> = { ...mapOf(mod.locals.base_environment, mod), STATE_TABLE: 'var.state_table_name', ...mapOf(call.environment) };
    const required = Object.keys(apiShape).filter((key) => !apiShape[key].safeParse(undefined).success);
    expect(required.filter((key) => !(key in env)), 'required API env vars missing').toEqual([]);
    expect(Object.keys(env).filter((key) => !(key in apiShape) && !/^(NODE_OPTIONS|POWERTOOLS_[A-Z_]+)$/.test(key)), 'env vars ApiEnvSchema does not read').toEqual([]);
    expect(Object.keys(env).filter((key) => key === 'AWS_REGION' || key.endsWith('_ENDPOINT'))).toEqual([]);
    for (const key of ['ATHENA_OUTPUT_LOCATION', 'CORS_ALLOWED_ORIGINS', 'LOG_LEVEL', 'MODEL_PATH']) expect(key in env, key).toBe(true);
    expect(env.MODEL_PATH).toBe('./model.json');
    expect(expr(call.athena_workgroup)).toBe('aws_athena_workgroup.lake.name');
    expect(expr(call.state_table_name)).toBe('aws_dynamodb_table.state.name');
  });

  it('may query the lake and only read the state table', () => {
    const policy = statements(dataSource(mod, 'aws_iam_policy_document', 'this'));
    const dynamo = policy.flatMap((statement) => (statement.actions as string[]).filter((action) => action.startsWith('dynamodb:')));
    expect(dynamo.sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Query']);
    // Query only on the two paging indexes; no Scan anywhere (issue 16: bounded reads per request).
    const query = policy.find((statement) => (statement.actions as string[]).includes('dynamodb:Query'))!;
    expect((query.resources as string[]).map((arn) => arn.replace(/.*\/index\//, ''))).toEqual(['list-index', 'risk-index']);
    expect(policy.flatMap((s) => s.actions as string[])).toEqual(expect.arrayContaining(['athena:StartQueryExecution', 'athena:GetQueryResults', 'glue:GetTable']));
    expect(expr(one(mod, 'aws_iam_role_policy', 'this').role)).toBe('aws_iam_role.this.id');
    expect(expr(fn.role)).toBe('aws_iam_role.this.arn');
  });

  it('reads only curated/ of the lake and writes only its Athena results prefix', () => {
    const objects = statements(dataSource(mod, 'aws_iam_policy_document', 'this')).filter((s) => (s.actions as string[]).some((a) => /^s3:(Get|Put)Object$/.test(a)));
    const resources = objects.flatMap((s) => s.resources as string[]);
    const results = 'arn:${local.partition}:s3:::${local.results_bucket}/${local.results_keys}';
    // The data bucket(s) come from a for expression: [for bucket in local.data_buckets : "${bucket}/curated/*"].
    expect(resources.filter((r) => !/\/curated\/\*("\]\})?$/.test(r) && r !== results), 'S3 object access outside curated/ and the results prefix').toEqual([]);
    expect(resources).toContain(results);
    expect(resources.join(' ')).not.toMatch(/\/orders\//);
    // Listing too is confined to those prefixes.
    const lists = statements(dataSource(mod, 'aws_iam_policy_document', 'this')).filter((s) => (s.actions as string[]).includes('s3:ListBucket'));
    expect(lists.map((s) => nested(s, 'condition').map((c) => [c.variable, c.values]))).toEqual([[['s3:prefix', ['curated/*']]], [['s3:prefix', ['${local.results_keys}']]]]);
  });

  it('routes /demand-insights/* of an HTTP API to it with payload 2.0, and lets API Gateway invoke it', () => {
    const integration = resource('aws_apigatewayv2_integration', 'api');
    expect(integration.integration_type).toBe('AWS_PROXY');
    expect(integration.payload_format_version).toBe('2.0');
    expect(expr(integration.integration_uri)).toBe('module.api.invoke_arn');
    expect(Number(integration.timeout_milliseconds)).toBeLessThanOrEqual(30000);
    const routes = resourcesOf('aws_apigatewayv2_route').map((r) => r.body.route_key);
    expect(routes).toContain('ANY /demand-insights/{proxy+}');
    expect(resource('aws_apigatewayv2_api', 'api').protocol_type).toBe('HTTP');
    // CORS is the Lambda's (configurable); an API Gateway cors_configuration would answer preflights instead.
    expect(nested(resource('aws_apigatewayv2_api', 'api'), 'cors_configuration')).toEqual([]);
    const permission = one(mod, 'aws_lambda_permission', 'api_gateway');
    expect(permission.principal).toBe('apigateway.amazonaws.com');
    expect(expr(permission.function_name)).toMatch(/^aws_lambda_function\.this\./);
    expect(permission.source_arn).toBe('${var.api_gateway_execution_arn}/*/*');
    expect(expr(call.api_gateway_execution_arn)).toBe('aws_apigatewayv2_api.api.execution_arn');
  });

  it('has log groups with retention for the function and the stage', () => {
    expect(expr(one(mod, 'aws_cloudwatch_log_group', 'this').retention_in_days)).toBe('var.log_retention_days');
    expect(expr(call.log_retention_days)).toBe('var.log_retention_days');
    expect(nested(fn, 'logging_config').map((b) => expr(b.log_group))).toEqual(['aws_cloudwatch_log_group.this.name']);
    expect(nested(resource('aws_apigatewayv2_stage', 'api'), 'access_log_settings')).toHaveLength(1);
  });

  it('keeps deployments made before the module (moved blocks)', () => {
    const moves = tf.moved.map((m) => `${expr(m.from)} -> ${expr(m.to)}`);
    for (const [type, inModule] of [['aws_lambda_function', 'this'], ['aws_iam_role', 'this'], ['aws_iam_role_policy', 'this'], ['aws_cloudwatch_log_group', 'this']]) {
      expect(moves).toContain(`${type}.api -> module.api.${type}.${inModule}`);
    }
  });
});

describe('terraform: the old module\'s interface (modules/demand-insights-lambda)', () => {
  // The seed README's table of the old module: name → default, or required.
  const OLD_INPUTS: Record<string, { default: unknown } | 'required'> = {
    function_name: { default: 'demand-insights-engine' },
    lambda_zip_path: 'required',
    athena_database: { default: 'demand_insights_db' },
    athena_output_location: 'required',
    data_bucket_prefix: { default: 'ecommerce-data' },
    aws_region: { default: 'us-east-1' },
    log_level: { default: 'INFO' },
    log_retention_days: { default: 7 },
    api_gateway_execution_arn: 'required',
    tags: { default: {} },
  };
  const OLD_TYPES: Record<string, string> = { log_retention_days: '${number}', tags: '${map(string)}' };
  const OLD_OUTPUTS = ['function_name', 'function_arn', 'invoke_arn', 'role_arn', 'log_group_name'];

  it('has every old input, with its type, its default or required as before', () => {
    for (const [name, spec] of Object.entries(OLD_INPUTS)) {
      const variable = variableOf(mod, name);
      expect(variable.type, `type of ${name}`).toBe(OLD_TYPES[name] ?? '${string}');
      if (spec === 'required') expect('default' in variable, `${name} stays required`).toBe(false);
      else expect(variable.default, `default of ${name}`).toEqual(spec.default);
    }
  });

  it('adds only optional inputs, so an old call is still complete', () => {
    const added = Object.keys(mod.variable).filter((name) => !(name in OLD_INPUTS));
    expect(added.filter((name) => !('default' in variableOf(mod, name))), 'new required inputs').toEqual([]);
  });

  it('has exactly the old outputs', () => {
    expect(Object.keys(mod.output).sort()).toEqual([...OLD_OUTPUTS].sort());
  });

  it('gives the function ATHENA_DATABASE, ATHENA_OUTPUT_LOCATION and LOG_LEVEL from the old inputs; AWS_REGION is Lambda\'s own', () => {
    const env = mapOf(mod.locals.base_environment, mod);
    expect(expr(env.ATHENA_DATABASE)).toBe('var.athena_database');
    expect(expr(env.ATHENA_OUTPUT_LOCATION)).toBe('var.athena_output_location');
    expect(expr(env.LOG_LEVEL)).toBe('local.log_level');
    expect(String(mod.locals.log_level)).toContain('var.log_level');
    expect('AWS_REGION' in env, 'Lambda refuses a reserved AWS_REGION; it sets it to the region the function runs in').toBe(false);
    // aws_region names the region in the policy's Athena, Glue and DynamoDB ARNs.
    expect(JSON.stringify(dataSource(mod, 'aws_iam_policy_document', 'this'))).toContain('${var.aws_region}');
  });

  it('keeps the timeout under API Gateway\'s 29 s, and refuses the old 300 s', () => {
    const timeout = variableOf(mod, 'timeout');
    expect(timeout.default).toBeLessThan(29);
    expect(String(timeout.validation?.[0]?.condition)).toMatch(/var\.timeout <= 28/);
    expect(expr(fn())).toBe('var.timeout');
    function fn() {
      return one(mod, 'aws_lambda_function', 'this').timeout;
    }
  });

  it('is called by examples/old-module-caller with the old inputs only', () => {
    const call = example.module.demand_insights_lambda?.[0];
    expect(call?.source).toBe('../../modules/demand-insights-lambda');
    expect(Object.keys(call ?? {}).filter((key) => key !== 'source' && !(key in OLD_INPUTS))).toEqual([]);
  });
});

describe('terraform: who may call the API', () => {
  it('is AWS_IAM by default, with JWT and (explicit) NONE the other choices', () => {
    const variable = variableOf(tf, 'api_authorization_type');
    expect(variable.default).toBe('AWS_IAM');
    expect(String(variable.validation?.[0]?.condition)).toBe('${contains(["AWS_IAM", "JWT", "NONE"], var.api_authorization_type)}');
    const route = resourcesOf('aws_apigatewayv2_route').find((r) => r.body.route_key === 'ANY /demand-insights/{proxy+}')!.body;
    expect(expr(route.authorization_type)).toBe('var.api_authorization_type');
    expect(expr(route.authorizer_id)).toBe('var.api_authorization_type == "JWT" ? aws_apigatewayv2_authorizer.jwt[0].id : null');
  });

  it('offers a JWT authorizer on the issuer and audiences given, refused without them', () => {
    const authorizer = resource('aws_apigatewayv2_authorizer', 'jwt');
    expect(authorizer.authorizer_type).toBe('JWT');
    expect(authorizer.identity_sources).toEqual(['$request.header.Authorization']);
    const jwt = nested(authorizer, 'jwt_configuration')[0];
    expect([expr(jwt.issuer), expr(jwt.audience)]).toEqual(['var.api_jwt_issuer', 'var.api_jwt_audience']);
    const precondition = nested(nested(authorizer, 'lifecycle')[0] ?? {}, 'precondition')[0];
    expect(expr(precondition?.condition)).toBe('var.api_jwt_issuer != null && length(var.api_jwt_audience) > 0');
    expect(variableOf(tf, 'api_jwt_issuer').default).toBeNull();
  });

  it('warns in the plan when left open (a check block), and gives callers an invoke policy', () => {
    const assertion = nested(tf.check.api_authorization?.[0] ?? {}, 'assert')[0];
    expect(expr(assertion?.condition)).toBe('var.api_authorization_type != "NONE"');
    expect(String(assertion?.error_message)).toMatch(/^WARNING/);
    const invoke = statements(dataSource(tf, 'aws_iam_policy_document', 'api_invoke'));
    expect(invoke.map((s) => [s.actions, s.resources])).toEqual([[['execute-api:Invoke'], ['${aws_apigatewayv2_api.api.execution_arn}/$default/*/demand-insights/*']]]);
  });

  it('opens only CORS preflights, and only when browser origins are allowed', () => {
    const preflight = resource('aws_apigatewayv2_route', 'preflight');
    expect(preflight.route_key).toBe('OPTIONS /demand-insights/{proxy+}');
    expect(preflight.authorization_type).toBe('NONE');
    expect(expr(preflight.count)).toBe('var.api_authorization_type != "NONE" && length(var.api_cors_allowed_origins) > 0 ? 1 : 0');
  });
});

describe('terraform: tracing and encryption', () => {
  const everyFunction = [...resourcesOf('aws_lambda_function'), ...resourcesOf('aws_lambda_function', mod).map((f) => ({ ...f, name: `module ${f.name}` }))];

  it('traces every function with X-Ray (Active by default), and every entry point wires Powertools Tracer', () => {
    expect(variableDefault('tracing_mode')).toBe('Active');
    for (const { name, body } of everyFunction) expect(nested(body, 'tracing_config').map((t) => expr(t.mode)), name).toEqual(['var.tracing_mode']);
    expect(expr(tf.module.api?.[0]?.tracing_mode)).toBe('var.tracing_mode');
    for (const entry of LAMBDA_ENTRIES) {
      const source = readFileSync(join(ROOT, entry.entry), 'utf8');
      expect(source, entry.entry).toMatch(/new Tracer\(/);
      expect(source, entry.entry).toMatch(/export const handler\b.*= tracedHandler\(/);
    }
    for (const name of ['consumer', 'sweep']) {
      expect(statements(dataSource(tf, 'aws_iam_policy_document', name)).length).toBeGreaterThan(0);
      expect(expr(dataSource(tf, 'aws_iam_policy_document', name).source_policy_documents)).toContain('${data.aws_iam_policy_document.tracing.json}');
    }
  });

  it('encrypts the table, the stream, the queues, the logs, the functions, the schedule and the lake with kms_key_arn when set', () => {
    expect(variableDefault('kms_key_arn')).toBeNull();
    expect(expr(tf.locals.kms_key_arn)).toBe('var.kms_key_arn');
    const key = 'local.kms_key_arn';
    expect(expr(nested(resource('aws_dynamodb_table', 'state'), 'server_side_encryption')[0].kms_key_arn)).toBe(key);
    expect(String(resource('aws_kinesis_stream', 'orders').kms_key_id)).toContain(key);
    for (const { name, body } of resourcesOf('aws_sqs_queue')) expect(expr(body.kms_master_key_id), name).toBe(key);
    for (const { name, body } of resourcesOf('aws_cloudwatch_log_group')) expect(expr(body.kms_key_id), name).toBe(key);
    expect(expr(one(mod, 'aws_cloudwatch_log_group', 'this').kms_key_id)).toBe('var.kms_key_arn');
    for (const { name, body } of resourcesOf('aws_lambda_function')) expect(expr(body.kms_key_arn), name).toBe(key);
    expect(expr(one(mod, 'aws_lambda_function', 'this').kms_key_arn)).toBe('var.kms_key_arn');
    expect(expr(tf.module.api?.[0]?.kms_key_arn)).toBe(key);
    expect(expr(resource('aws_scheduler_schedule', 'sweep').kms_key_arn)).toBe(key);
    const sse = nested(nested(resource('aws_s3_bucket_server_side_encryption_configuration', 'lake'), 'rule')[0], 'apply_server_side_encryption_by_default')[0];
    expect([sse.sse_algorithm, expr(sse.kms_master_key_id)]).toEqual(['aws:kms', key]);
    for (const role of ['consumer', 'sweep', 'producer', 'firehose']) {
      expect(expr(dataSource(tf, 'aws_iam_policy_document', role).source_policy_documents), role).toContain('${data.aws_iam_policy_document.kms_use.json}');
    }
  });

  it('scopes every S3 object permission to a prefix, never the whole lake', () => {
    const bucketWide: string[] = [];
    for (const [name, documents] of Object.entries(tf.data.aws_iam_policy_document ?? {})) {
      for (const statement of documents.flatMap(statements)) {
        if (statement.effect === 'Deny') continue;
        if (!(statement.actions as string[]).some((a) => /^s3:.*Object/.test(a))) continue;
        bucketWide.push(...(statement.resources as string[]).filter((r) => r.endsWith('.arn}/*')).map((r) => `${name}: ${r}`));
      }
    }
    expect(bucketWide).toEqual([]);
  });
});

describe('terraform: the trainer and hot-loaded models (trainer.tf)', () => {
  const fn = resource('aws_lambda_function', 'trainer');
  const shape = TrainerEnvSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
  const env = new Map(Object.entries(mapOf(nested(fn, 'environment')[0].variables)).map(([key, v]) => [key, expr(v)]));

  it('deploys trainer/lambda/trainer.ts from the bundle with X-Ray, the customer key and its own encrypted log group', () => {
    expect(LAMBDA_ENTRIES.find((e) => e.name === 'trainer')?.entry).toBe('trainer/lambda/trainer.ts');
    expect(fn.runtime).toBe('nodejs22.x');
    expect(fn.handler).toBe(LAMBDA_HANDLER);
    expect(String(fn.filename)).toMatch(/\/trainer\.zip$/);
    expect(expr(nested(fn, 'tracing_config')[0].mode)).toBe('var.tracing_mode');
    expect(expr(fn.kms_key_arn)).toBe('local.kms_key_arn');
    const logs = resource('aws_cloudwatch_log_group', 'trainer');
    expect([expr(logs.kms_key_id), expr(logs.retention_in_days)]).toEqual(['local.kms_key_arn', 'var.log_retention_days']);
    expect(Number(variableDefault('trainer_timeout_seconds'))).toBeLessThanOrEqual(900);
    expect(readFileSync(join(ROOT, 'trainer', 'lambda', 'trainer.ts'), 'utf8')).toMatch(/tracedHandler\(tracer, 'trainer'/);
  });

  it('sets every required TrainerEnvSchema variable and nothing unknown; defaults match the code', () => {
    const required = Object.keys(shape).filter((key) => !shape[key].safeParse(undefined).success);
    expect(required.sort()).toEqual(['ATHENA_DATABASE', 'ATHENA_WORKGROUP', 'MODEL_URI']);
    expect(required.filter((key) => !env.has(key))).toEqual([]);
    expect([...env.keys()].filter((key) => !(key in shape) && !/^(NODE_OPTIONS|POWERTOOLS_[A-Z_]+)$/.test(key))).toEqual([]);
    expect([...env.keys()].filter((key) => key === 'AWS_REGION' || key.endsWith('_ENDPOINT'))).toEqual([]);
    expect(env.get('MODEL_URI')).toBe('local.model_store_uri');
    const defaults = TrainerEnvSchema.parse({ ATHENA_DATABASE: 'd', ATHENA_WORKGROUP: 'w', MODEL_URI: 's3://b/p' });
    expect(variableDefault('trainer_training_days')).toBe(defaults.TRAINING_DAYS);
    expect(variableDefault('trainer_horizon_days')).toBe(defaults.HORIZON_DAYS);
    expect(variableDefault('trainer_tolerance_churn_auc')).toBe(defaults.TOLERANCE_CHURN_AUC);
    expect(variableDefault('trainer_tolerance_clv_spearman')).toBe(defaults.TOLERANCE_CLV_SPEARMAN);
  });

  it('runs weekly from EventBridge Scheduler with an empty input', () => {
    const schedule = resource('aws_scheduler_schedule', 'trainer');
    expect(expr(schedule.schedule_expression)).toBe('var.trainer_schedule');
    expect(variableDefault('trainer_schedule')).toBe('rate(7 days)');
    const target = nested(schedule, 'target')[0];
    expect([expr(target.arn), expr(target.input)]).toEqual(['aws_lambda_function.trainer.arn', 'jsonencode({})']);
    expect(statements(dataSource(tf, 'aws_iam_policy_document', 'trainer_scheduler')).map((statement) => statement.actions)).toEqual([['lambda:InvokeFunction']]);
  });

  it('may write only under the model store prefix and Athena results, delete only its UNLOAD output, and never page results', () => {
    const all = statements(dataSource(tf, 'aws_iam_policy_document', 'trainer'));
    const on = (action: string) => all.filter((statement) => (statement.actions as string[]).includes(action)).flatMap((statement) => statement.resources as string[]);
    expect(on('s3:PutObject').sort()).toEqual(['${aws_s3_bucket.lake.arn}/${local.model_store_prefix}/*', '${aws_s3_bucket.lake.arn}/athena-results/*'].sort());
    expect(on('s3:DeleteObject')).toEqual(['${aws_s3_bucket.lake.arn}/${local.model_store_prefix}/training-data/*']);
    expect(on('athena:GetQueryResults')).toEqual([]);
    expect(all.flatMap((statement) => statement.actions as string[]).filter((a) => /^glue:(Create|Delete|Update|BatchCreate|BatchDelete)/.test(a))).toEqual([]);
  });

  it('gives MODEL_URI and MODEL_REFRESH_SECONDS to the consumer, sweep and API, and each of them read access to models/ only', () => {
    const scorer = mapOf(tf.locals.scorer_environment);
    expect([expr(scorer.MODEL_URI), expr(scorer.MODEL_REFRESH_SECONDS)]).toEqual(['local.model_store_uri', 'tostring(var.model_refresh_seconds)']);
    const api = mapOf(tf.module.api[0].environment);
    expect([expr(api.MODEL_URI), expr(api.MODEL_REFRESH_SECONDS)]).toEqual(['local.model_store_uri', 'tostring(var.model_refresh_seconds)']);
    expect(variableDefault('model_refresh_seconds')).toBe(ConsumerEnvSchema.parse({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://example.com/q' }).MODEL_REFRESH_SECONDS);
    const read = statements(dataSource(tf, 'aws_iam_policy_document', 'read_models'));
    expect(read.map((statement) => [statement.actions, statement.resources])).toEqual([[['s3:GetObject'], ['${aws_s3_bucket.lake.arn}/${local.model_store_prefix}/models/*']]]);
    for (const role of ['consumer', 'sweep']) {
      expect(expr(dataSource(tf, 'aws_iam_policy_document', role).source_policy_documents), role).toContain('${data.aws_iam_policy_document.read_models.json}');
    }
    expect(expr(resource('aws_iam_role_policy', 'api_read_models').policy)).toBe('data.aws_iam_policy_document.read_models.json');
  });
});

describe('terraform: lake curation (curation.tf)', () => {
  const fn = resource('aws_lambda_function', 'curation');
  const shape = CurationEnvSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;
  const env = new Map(Object.entries(mapOf(nested(fn, 'environment')[0].variables)).map(([key, v]) => [key, expr(v)]));

  it('deploys lake/lambda/curation.ts from the bundle, nodejs22.x on arm64, within Lambda\'s 15 minutes', () => {
    const entry = LAMBDA_ENTRIES.find((e) => e.name === 'curation');
    expect(entry?.entry).toBe('lake/lambda/curation.ts');
    expect(fn.runtime).toBe('nodejs22.x');
    expect(fn.handler).toBe(LAMBDA_HANDLER);
    expect(String(fn.filename)).toMatch(/\/curation\.zip$/);
    expect(String(fn.source_code_hash)).toContain('/curation.zip\")');
    expect(fn.architectures).toEqual(['arm64']);
    expect(readFileSync(join(ROOT, 'lake', 'lambda', 'curation.ts'), 'utf8')).toMatch(/export\s+(async\s+function\s+handler\b|const\s+handler\b)/);
    expect(Number(variableDefault('curation_timeout_seconds'))).toBeLessThanOrEqual(900);
  });

  it('sets every required CurationEnvSchema variable, and nothing unknown; the look-back defaults to the code\'s', () => {
    const required = Object.keys(shape).filter((key) => !shape[key].safeParse(undefined).success);
    expect(required.sort()).toEqual(['ATHENA_DATABASE', 'ATHENA_WORKGROUP', 'CURATED_ROOT']);
    expect(required.filter((key) => !env.has(key))).toEqual([]);
    expect([...env.keys()].filter((key) => !(key in shape) && !/^(NODE_OPTIONS|POWERTOOLS_[A-Z_]+)$/.test(key))).toEqual([]);
    expect([...env.keys()].filter((key) => key === 'AWS_REGION' || key.endsWith('_ENDPOINT'))).toEqual([]);
    expect(env.get('CURATED_ROOT')).toBe('local.curated_root');
    expect(env.get('ATHENA_WORKGROUP')).toBe('aws_athena_workgroup.lake.name');
    expect(env.get('LOOKBACK_DAYS')).toBe('tostring(var.curation_lookback_days)');
    const defaults = CurationEnvSchema.parse({ ATHENA_DATABASE: 'd', ATHENA_WORKGROUP: 'w', CURATED_ROOT: 's3://b/curated' });
    expect(variableDefault('curation_lookback_days')).toBe(defaults.LOOKBACK_DAYS);
    expect(variableDefault('curation_grace_minutes')).toBe(defaults.GRACE_MINUTES);
  });

  it('runs hourly from EventBridge Scheduler with an empty input (the look-back window)', () => {
    const schedule = resource('aws_scheduler_schedule', 'curation');
    expect(expr(schedule.schedule_expression)).toBe('var.curation_schedule');
    expect(variableDefault('curation_schedule')).toBe('rate(1 hour)');
    const target = nested(schedule, 'target')[0];
    expect(expr(target.arn)).toBe('aws_lambda_function.curation.arn');
    expect(expr(target.input)).toBe('jsonencode({})');
    expect(expr(target.role_arn)).toBe('aws_iam_role.curation_scheduler.arn');
    const invoke = statements(dataSource(tf, 'aws_iam_policy_document', 'curation_scheduler'));
    expect(invoke.map((statement) => statement.actions)).toEqual([['lambda:InvokeFunction']]);
  });

  it('may swap partitions and write only under curated/versions/ and athena-results/', () => {
    const all = statements(dataSource(tf, 'aws_iam_policy_document', 'curation'));
    const actions = all.flatMap((statement) => statement.actions as string[]);
    for (const action of ['glue:CreateTable', 'glue:DeleteTable', 'glue:UpdateTable', 'glue:BatchCreatePartition', 'glue:UpdatePartition', 'glue:DeletePartition', 'athena:StartQueryExecution']) {
      expect(actions, action).toContain(action);
    }
    const writes = all.filter((statement) => (statement.actions as string[]).includes('s3:PutObject'));
    expect(writes).toHaveLength(1);
    expect((writes[0].resources as string[]).map((r) => r.replace('${aws_s3_bucket.lake.arn}/', '')).sort()).toEqual(['athena-results/*', 'curated/versions/*']);
  });

  it('may delete superseded rebuilds under curated/versions/ only, and list only the lake prefixes', () => {
    const all = statements(dataSource(tf, 'aws_iam_policy_document', 'curation'));
    const deletes = all.filter((statement) => (statement.actions as string[]).some((action) => action.startsWith('s3:Delete')));
    expect(deletes).toHaveLength(1);
    expect(deletes[0].actions).toEqual(['s3:DeleteObject']);
    expect(deletes[0].resources).toEqual(['${aws_s3_bucket.lake.arn}/curated/versions/*']);
    const lists = all.filter((statement) => (statement.actions as string[]).includes('s3:ListBucket'));
    expect(lists).toHaveLength(1);
    expect(nested(lists[0], 'condition')).toEqual([{ test: 'StringLike', variable: 's3:prefix', values: ['orders/*', 'curated/*', 'athena-results/*'] }]);
    // 24 h by default: longer than the longest Athena query.
    expect(variableDefault('curation_grace_minutes')).toBe(1440);
  });

  it('alarms on a day with stream traffic and no curated rows, from the metric the function emits', () => {
    const alarm = resource('aws_cloudwatch_metric_alarm', 'lake_day_not_curated');
    const queries = nested(alarm, 'metric_query');
    const metrics = queries.flatMap((query) => nested(query, 'metric')).map((metric) => ({ namespace: metric.namespace, name: metric.metric_name, dimensions: metric.dimensions }));
    expect(metrics).toContainEqual({ namespace: 'AWS/Kinesis', name: 'IncomingRecords', dimensions: { StreamName: '${aws_kinesis_stream.orders.name}' } });
    expect(metrics).toContainEqual({ namespace: 'DemandInsights', name: 'LastCompleteDayRows', dimensions: { service: 'curation' } });
    const expression = queries.map((query) => query.expression).find(Boolean);
    expect(expression).toBe('IF(FILL(incoming, 0) > 0 AND FILL(curated, 0) == 0, 1, 0)');
    const source = readFileSync(join(ROOT, 'lake', 'curationMetrics.ts'), 'utf8') + readFileSync(join(ROOT, 'lake', 'lambda', 'curation.ts'), 'utf8');
    expect(source).toMatch(/addMetric\('LastCompleteDayRows'/);
    expect(source).toMatch(/namespace: 'DemandInsights', serviceName: 'curation'/);
  });

  it('keeps order_lines on registered partitions (no projection, which would pin every day to one location) and no hand-run query', () => {
    expect(JSON.stringify(resource('aws_glue_catalog_table', 'order_lines'))).not.toMatch(/projection\./);
    expect(resourcesOf('aws_athena_named_query')).toEqual([]);
    expect(expr(resource('aws_cloudwatch_log_group', 'curation').retention_in_days)).toBe('var.log_retention_days');
  });
});

// ---------------------------------------------------------------------------------------------
// The real thing, where a terraform binary and a local provider mirror exist (no registry here):
// terraform fmt -check, init -plugin-dir, validate and test (mocked provider), in a scratch copy so
// nothing lands in the tree.

const pluginDir = process.env.TF_PLUGIN_DIR ?? '/opt/tf-plugins';
const terraform = ['/usr/local/bin/terraform', '/usr/bin/terraform'].find((path) => existsSync(path));

function sh(command: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((done) => {
    execFile(command, args, { cwd, timeout: 120_000, env: { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' } }, (error, stdout, stderr) =>
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

describe.skipIf(!terraform || !existsSync(join(pluginDir, 'registry.terraform.io', 'hashicorp', 'aws')))('terraform: validate (local provider mirror)', () => {
  it('is formatted and valid', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'di-tf-'));
    try {
      await cp(TF_DIR, join(scratch, 'terraform'), { recursive: true, filter: (src) => !src.includes('.terraform') });
      await cp(join(ROOT, 'consumers', 'alerts', 'schemas'), join(scratch, 'consumers', 'alerts', 'schemas'), { recursive: true });
      const dir = join(scratch, 'terraform');
      const fmt = await sh(terraform!, ['fmt', '-check', '-recursive', '-no-color'], dir);
      expect(fmt.code, `terraform fmt -check: files need formatting\n${fmt.output}`).toBe(0);
      const init = await sh(terraform!, ['init', '-backend=false', '-input=false', '-no-color', `-plugin-dir=${pluginDir}`], dir);
      expect(init.code, `terraform init\n${init.output}`).toBe(0);
      const validate = await sh(terraform!, ['validate', '-no-color'], dir);
      expect(validate.code, `terraform validate\n${validate.output}`).toBe(0);
      // terraform test with a mocked AWS provider (tests/*.tftest.hcl): plans that show the API
      // closed by default, the JWT authorizer, the NONE warning, and the module's old interface.
      const zips = join(scratch, 'zips');
      await mkdir(zips);
      for (const name of ['consumer', 'sweep', 'api', 'curation', 'kafka-consumer', 'trainer']) await writeFile(join(zips, `${name}.zip`), 'not a real package: plans only hash it');
      const rootTests = await sh(terraform!, ['test', '-no-color', `-var=lambda_artifacts_dir=${zips}`], dir);
      expect(rootTests.code, `terraform test (root)\n${rootTests.output}`).toBe(0);
      expect(rootTests.output).toMatch(/Success! 5 passed, 0 failed/);
      const moduleDir = join(dir, 'modules', 'demand-insights-lambda');
      const moduleInit = await sh(terraform!, ['init', '-backend=false', '-input=false', '-no-color', `-plugin-dir=${pluginDir}`], moduleDir);
      expect(moduleInit.code, `terraform init (module)\n${moduleInit.output}`).toBe(0);
      const moduleTests = await sh(terraform!, ['test', '-no-color', `-var=lambda_zip_path=${join(zips, 'api.zip')}`], moduleDir);
      expect(moduleTests.code, `terraform test (module)\n${moduleTests.output}`).toBe(0);
      expect(moduleTests.output).toMatch(/Success! 3 passed, 0 failed/);
      // The old module's caller, as its teams would run it.
      const exampleDir = join(dir, 'examples', 'old-module-caller');
      const exampleInit = await sh(terraform!, ['init', '-backend=false', '-input=false', '-no-color', `-plugin-dir=${pluginDir}`], exampleDir);
      expect(exampleInit.code, `terraform init (example)\n${exampleInit.output}`).toBe(0);
      const exampleValidate = await sh(terraform!, ['validate', '-no-color'], exampleDir);
      expect(exampleValidate.code, `terraform validate (example)\n${exampleValidate.output}`).toBe(0);
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 600_000);
});

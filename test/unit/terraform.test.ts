import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LAMBDA_ENTRIES, LAMBDA_HANDLER } from '../../bin/commands/bundle.ts';
import { alertSchemaFileName } from '../../consumers/alerts/alertSchemas.ts';
import { CONSUMER_V8_FLAGS, ConsumerEnvSchema } from '../../consumers/consumerConfig.ts';
import { DUE_INDEX, OUTBOX_INDEX, stateTableDefinition } from '../../consumers/stateStore/dynamoStateStore.ts';
import { ApiEnvSchema } from '../../api/lambda.ts';
import { ALERT_DETAIL_TYPES, ALERT_SOURCE } from '../../models/customer/alertEvent.ts';
import { DEFAULT_RISK_POLICY } from '../../models/customer/riskPolicy.ts';

/*
 * The Terraform contract, checked on the .tf text (no terraform binary or provider needed):
 * the table equals stateTableDefinition(), the event source mapping reports partial failures and
 * has an on-failure destination, both Lambdas get every required variable of ConsumerEnvSchema,
 * run nodejs22.x with the bundle's handler, and the schema registry is fed the committed files.
 * The parsing is deliberately small: comments are stripped, blocks are found by header and
 * matched braces, attributes are read at a block's top level.
 */

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const TF_DIR = join(ROOT, 'terraform');

// ---------------------------------------------------------------------------------------------
// A minimal HCL reader

/** Removes #, // and /* *\/ comments, leaving strings and heredocs intact. */
function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const heredoc = /^<<-?([A-Za-z_]+)\n/.exec(text.slice(i, i + 64));
    if (heredoc) {
      const end = new RegExp(`\\n\\s*${heredoc[1]}\\s*(\\n|$)`).exec(text.slice(i + heredoc[0].length - 1));
      const stop = end ? i + heredoc[0].length - 1 + end.index + end[0].length : text.length;
      out += text.slice(i, stop);
      i = stop;
    } else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past the brace that closes the one at `open`, skipping strings. */
function matchBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    } else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new Error(`unbalanced braces from offset ${open}`);
}

/** Bodies of every block whose header matches, e.g. blocks(text, 'resource "aws_lambda_function" "\\w+"'). */
function blocks(text: string, header: string): { header: string; body: string }[] {
  const found: { header: string; body: string }[] = [];
  const pattern = new RegExp(`(^|\\n)\\s*(${header})\\s*\\{`, 'g');
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const open = m.index + m[0].length - 1;
    const close = matchBrace(text, open);
    found.push({ header: m[2], body: text.slice(open + 1, close - 1) });
    pattern.lastIndex = close;
  }
  return found;
}

/** The body with nested blocks and multi-line values blanked, so only top-level lines remain. */
function topLevel(body: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '"') {
      let j = i + 1;
      while (j < body.length && body[j] !== '"') j += body[j] === '\\' ? 2 : 1;
      out += body.slice(i, j + 1);
      i = j;
    } else if (c === '{' || c === '[') {
      const end = matchBrace(body, i);
      // Keep one-line values (lists, small maps) readable; blank nested blocks.
      const inner = body.slice(i, end);
      out += inner.includes('\n') ? c + ' '.repeat(inner.length - 2) + body[end - 1] : inner;
      i = end - 1;
    } else out += c;
  }
  return out;
}

/** A top-level attribute's raw expression, or undefined. */
function attr(body: string, name: string): string | undefined {
  const m = new RegExp(`(^|\\n)\\s*"?${name}"?\\s*=\\s*([^\\n]*)`).exec(topLevel(body));
  return m?.[2].trim();
}

/** A top-level attribute as a value: strings unquoted, lists of strings as arrays, bools, numbers. */
function value(body: string, name: string): unknown {
  const raw = attr(body, name);
  if (raw === undefined) return undefined;
  if (/^".*"$/.test(raw)) return JSON.parse(raw);
  if (/^\[.*\]$/.test(raw)) return [...raw.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

/** Nested blocks of a given type directly inside `body`'s tree (any depth). */
function nested(body: string, type: string): string[] {
  return blocks(body, type).map((b) => b.body);
}

const files = readdirSync(TF_DIR).filter((f) => f.endsWith('.tf'));
const sources = new Map(files.map((f) => [f, stripComments(readFileSync(join(TF_DIR, f), 'utf8'))]));
const tf = [...sources.values()].join('\n');

function resource(type: string, name: string): string {
  const found = blocks(tf, `resource "${type}" "${name}"`);
  if (found.length !== 1) throw new Error(`expected one resource "${type}" "${name}" in terraform/*.tf, found ${found.length}`);
  return found[0].body;
}

function resourcesOf(type: string): { name: string; body: string }[] {
  return blocks(tf, `resource "${type}" "[\\w-]+"`).map((b) => ({ name: /"([\w-]+)"$/.exec(b.header)![1], body: b.body }));
}

const localsBodies = blocks(tf, 'locals').map((b) => b.body);

/** The raw expression of local.<name>, including multi-line maps. */
function localExpression(name: string): string {
  for (const body of localsBodies) {
    const m = new RegExp(`(^|\\n)\\s*${name}\\s*=\\s*`).exec(body);
    if (!m) continue;
    if (topLevel(body).slice(m.index, m.index + m[0].length) !== body.slice(m.index, m.index + m[0].length)) continue;
    const start = m.index + m[0].length;
    if (body[start] === '{' || body[start] === '[') return body.slice(start, matchBrace(body, start));
    return body.slice(start, body.indexOf('\n', start) < 0 ? undefined : body.indexOf('\n', start)).trim();
  }
  throw new Error(`local.${name} is not defined in terraform/*.tf`);
}

/** Keys of a map expression: inline { K = ... } maps, local.<map> references, merge(...) of both. */
function mapKeys(expression: string, seen = new Set<string>()): Map<string, string> {
  const keys = new Map<string, string>();
  for (const ref of expression.matchAll(/\blocal\.(\w+)/g)) {
    if (seen.has(ref[1])) continue;
    seen.add(ref[1]);
    for (const [k, v] of mapKeys(localExpression(ref[1]), seen)) keys.set(k, v);
  }
  for (let i = expression.indexOf('{'); i >= 0; i = expression.indexOf('{', i)) {
    const end = matchBrace(expression, i);
    const inner = topLevel(expression.slice(i + 1, end - 1));
    for (const m of inner.matchAll(/(^|\n)\s*"?([\w-]+)"?\s*=\s*([^\n]*)/g)) keys.set(m[2], m[3].trim());
    i = end;
  }
  return keys;
}

function variableDefault(name: string): unknown {
  const found = blocks(tf, `variable "${name}"`);
  if (found.length !== 1) throw new Error(`variable "${name}" is not declared in terraform/variables.tf`);
  return value(found[0].body, 'default');
}

// ---------------------------------------------------------------------------------------------

describe('terraform: DynamoDB state table', () => {
  const definition = stateTableDefinition('x');
  const tables = resourcesOf('aws_dynamodb_table');

  it('is the only table', () => {
    expect(tables.map((t) => t.name), 'aws_dynamodb_table resources').toHaveLength(1);
  });

  const table = tables[0]?.body ?? '';

  it('has the keys, attributes and billing of stateTableDefinition()', () => {
    expect(value(table, 'billing_mode'), 'billing_mode drifted from stateTableDefinition().BillingMode').toBe(definition.BillingMode);
    const hash = definition.KeySchema!.find((k) => k.KeyType === 'HASH')!.AttributeName;
    const range = definition.KeySchema!.find((k) => k.KeyType === 'RANGE')?.AttributeName;
    expect(value(table, 'hash_key'), 'hash_key drifted from stateTableDefinition().KeySchema').toBe(hash);
    expect(value(table, 'range_key'), 'range_key drifted from stateTableDefinition().KeySchema').toBe(range);

    const attributes = nested(table, 'attribute').map((b) => ({ name: value(b, 'name'), type: value(b, 'type') }));
    const expected = definition.AttributeDefinitions!.map((a) => ({ name: a.AttributeName, type: a.AttributeType }));
    const byName = (a: { name: unknown }, b: { name: unknown }) => String(a.name).localeCompare(String(b.name));
    expect(attributes.sort(byName), 'attribute blocks drifted from stateTableDefinition().AttributeDefinitions').toEqual(expected.sort(byName));
  });

  it('has the GSIs of stateTableDefinition() (names, keys, projection)', () => {
    const actual = nested(table, 'global_secondary_index').map((b) => ({
      name: value(b, 'name'),
      hash: value(b, 'hash_key'),
      range: value(b, 'range_key'),
      projection: value(b, 'projection_type'),
      nonKey: value(b, 'non_key_attributes'),
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
    const pitr = nested(table, 'point_in_time_recovery');
    expect(pitr.map((b) => value(b, 'enabled')), 'point_in_time_recovery { enabled = true }').toEqual([true]);
  });

  it('grants the sweep Query on exactly the due and outbox indexes', () => {
    expect(tf, `IAM must name the index the sweep queries (${DUE_INDEX})`).toContain(`/index/${DUE_INDEX}"`);
    expect(tf, `IAM must name the index the sweep queries (${OUTBOX_INDEX})`).toContain(`/index/${OUTBOX_INDEX}"`);
  });
});

describe('terraform: Kinesis event source mapping', () => {
  // The optional Kafka mapping (terraform/kafka.tf) is checked below.
  const mappings = resourcesOf('aws_lambda_event_source_mapping').filter((m) => m.name !== 'kafka_consumer');

  it('exists once, from the stream to the consumer', () => {
    expect(mappings, 'aws_lambda_event_source_mapping resources').toHaveLength(1);
    const esm = mappings[0].body;
    expect(attr(esm, 'event_source_arn')).toMatch(/^aws_kinesis_stream\.\w+\.arn$/);
    expect(attr(esm, 'function_name')).toMatch(/^aws_lambda_function\.consumer\.(arn|function_name)$/);
  });

  it('reports partial batch failures, bisects, and bounds retries', () => {
    const esm = mappings[0].body;
    expect(value(esm, 'function_response_types'), 'without ReportBatchItemFailures Lambda ignores batchItemFailures').toEqual(['ReportBatchItemFailures']);
    expect(value(esm, 'bisect_batch_on_function_error')).toBe(true);
    expect(attr(esm, 'starting_position')).toBe('var.starting_position');
    for (const [setting, variable, expected] of [
      ['batch_size', 'batch_size', 100],
      ['parallelization_factor', 'parallelization_factor', 1],
      ['maximum_retry_attempts', 'maximum_retry_attempts', 10],
      ['maximum_batching_window_in_seconds', 'maximum_batching_window_in_seconds', undefined],
      ['maximum_record_age_in_seconds', 'maximum_record_age_in_seconds', undefined],
    ] as const) {
      expect(attr(esm, setting), `${setting} should come from var.${variable}`).toBe(`var.${variable}`);
      if (expected !== undefined) expect(variableDefault(variable), `default of var.${variable}`).toBe(expected);
    }
    expect(variableDefault('starting_position')).toMatch(/^(TRIM_HORIZON|LATEST)$/);
  });

  it('sends what still fails to an SQS on-failure destination the consumer may write to', () => {
    const esm = mappings[0].body;
    const onFailure = nested(esm, 'destination_config').flatMap((b) => nested(b, 'on_failure'));
    expect(onFailure, 'destination_config { on_failure { ... } }').toHaveLength(1);
    const destination = attr(onFailure[0], 'destination_arn');
    const queue = /^aws_sqs_queue\.(\w+)\.arn$/.exec(destination ?? '');
    expect(queue, `on_failure.destination_arn should be an SQS queue's arn, is ${destination}`).not.toBeNull();
    resource('aws_sqs_queue', queue![1]);
    const consumerPolicy = blocks(tf, 'data "aws_iam_policy_document" "consumer"')[0]?.body ?? '';
    const sends = nested(consumerPolicy, 'statement').some(
      (s) => String(attr(s, 'actions')).includes('"sqs:SendMessage"') && String(attr(s, 'resources')).includes(`aws_sqs_queue.${queue![1]}.arn`),
    );
    expect(sends, `the consumer role needs sqs:SendMessage on aws_sqs_queue.${queue![1]}`).toBe(true);
  });
});

describe('terraform: optional Kafka consumer (MSK or self-managed)', () => {
  const mapping = resource('aws_lambda_event_source_mapping', 'kafka_consumer');
  const fn = resource('aws_lambda_function', 'kafka_consumer');
  const kafkaResources = (sources.get('kafka.tf') ?? '').match(/(^|\n)resource "[^"]+" "[^"]+"/g) ?? [];

  it('is off unless a cluster ARN or bootstrap servers are given: every resource counts on it', () => {
    expect(variableDefault('kafka_msk_cluster_arn')).toBe('');
    expect(variableDefault('kafka_bootstrap_servers')).toBe('');
    const enabled = /kafka_enabled\s*=\s*var\.kafka_msk_cluster_arn != "" \|\| var\.kafka_bootstrap_servers != ""/.test(tf);
    expect(enabled, 'local.kafka_enabled from the ARN or the bootstrap servers').toBe(true);
    expect(kafkaResources.length).toBeGreaterThanOrEqual(5);
    for (const header of kafkaResources) {
      const [, type, name] = /resource "([^"]+)" "([^"]+)"/.exec(header)!;
      expect(attr(resource(type, name), 'count'), `${type}.${name}`).toBe('local.kafka_count');
    }
    expect(tf).toMatch(/kafka_count\s*=\s*local\.kafka_enabled \? 1 : 0/);
  });

  it('maps the topic to the Kafka handler bundle, MSK by ARN or self-managed by bootstrap servers', () => {
    expect(attr(mapping, 'function_name')).toBe('aws_lambda_function.kafka_consumer[0].arn');
    expect(attr(mapping, 'event_source_arn')).toBe('local.kafka_self_managed ? null : var.kafka_msk_cluster_arn');
    expect(attr(mapping, 'topics')).toBe('[var.kafka_topic]');
    expect(attr(mapping, 'starting_position')).toBe('var.kafka_starting_position');
    expect(variableDefault('kafka_starting_position')).toMatch(/^(TRIM_HORIZON|LATEST)$/);
    expect(mapping).toMatch(/dynamic "self_managed_event_source"[\s\S]*KAFKA_BOOTSTRAP_SERVERS\s*=\s*var\.kafka_bootstrap_servers/);
    expect(mapping).toMatch(/dynamic "amazon_managed_kafka_event_source_config"/);
    expect(mapping).toMatch(/dynamic "self_managed_kafka_event_source_config"/);
    const limit = Number(variableDefault('kafka_batch_size'));
    expect(limit).toBeGreaterThanOrEqual(1);
    expect(limit).toBeLessThanOrEqual(10_000);
  });

  it('runs the kafka-consumer bundle on nodejs22.x with the scorer environment and a role of its own', () => {
    expect(value(fn, 'runtime')).toBe('nodejs22.x');
    expect(value(fn, 'handler')).toBe(LAMBDA_HANDLER);
    expect(attr(fn, 'filename')).toMatch(/\/kafka-consumer\.zip"$/);
    const entry = LAMBDA_ENTRIES.find((e) => e.name === 'kafka-consumer');
    expect(entry?.entry).toBe('consumers/lambda/kafkaConsumer.ts');
    expect(readFileSync(join(ROOT, entry!.entry), 'utf8')).toMatch(/export\s+const\s+handler\b/);
    expect(attr(nested(fn, 'environment')[0], 'variables')).toBe('local.scorer_environment');
    expect(attr(fn, 'role')).toBe('aws_iam_role.kafka_consumer[0].arn');
    const policy = blocks(tf, 'data "aws_iam_policy_document" "kafka_consumer"')[0]?.body ?? '';
    for (const action of ['dynamodb:PutItem', 'dynamodb:BatchGetItem', 'sqs:SendMessage', 'kafka:GetBootstrapBrokers', 'ec2:CreateNetworkInterface']) {
      expect(policy, `the Kafka consumer role needs ${action}`).toContain(`"${action}"`);
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

  it('run the consumer with the V8 flags `bench consumer` measures it with', () => {
    const options = /NODE_OPTIONS\s*=\s*"([^"]*)"/.exec(readFileSync(join(TF_DIR, 'main.tf'), 'utf8'));
    expect(options, 'NODE_OPTIONS in terraform/main.tf').not.toBeNull();
    for (const flag of CONSUMER_V8_FLAGS) expect(options![1].split(/\s+/)).toContain(flag);
  });

  it('deploy the consumer and the sweep', () => {
    expect(functions.map((f) => f.name).sort()).toEqual(expect.arrayContaining(['consumer', 'sweep']));
  });

  it.each(['consumer', 'sweep'])('%s: nodejs22.x on arm64, handler and package from the bundle', (name) => {
    const fn = resource('aws_lambda_function', name);
    expect(value(fn, 'runtime'), 'runtime').toBe('nodejs22.x');
    expect(value(fn, 'handler'), `handler must match the bundle (index.mjs exporting handler)`).toBe(LAMBDA_HANDLER);
    const entry = LAMBDA_ENTRIES.find((e) => e.name === name);
    expect(entry, `bin/commands/bundle.ts has no entry named ${name}`).toBeDefined();
    expect(attr(fn, 'filename'), 'filename should be the bundle command\'s zip').toMatch(new RegExp(`/${name}\\.zip"$`));
    expect(attr(fn, 'source_code_hash'), 'source_code_hash should hash the same zip').toContain(`/${name}.zip")`);
    expect(attr(fn, 'architectures')).toMatch(/arm64/);
    // The handler named by LAMBDA_HANDLER must be what the entry point exports.
    const source = readFileSync(join(ROOT, entry!.entry), 'utf8');
    expect(source, `${entry!.entry} must export handler`).toMatch(/export\s+(const|async\s+function|function)\s+handler\b/);
  });

  it.each(['consumer', 'sweep'])('%s: sets every required ConsumerEnvSchema variable, and nothing unknown', (name) => {
    const fn = resource('aws_lambda_function', name);
    const environment = nested(fn, 'environment');
    expect(environment, `${name} has no environment block`).toHaveLength(1);
    const variables = attr(environment[0], 'variables') ?? '';
    const expression = variables.startsWith('{') ? environment[0].slice(environment[0].indexOf('{')) : variables;
    const env = mapKeys(expression);
    const missing = requiredEnv.filter((key) => !env.has(key));
    expect(missing, `${name} lacks required env vars (ConsumerEnvSchema fields without defaults)`).toEqual([]);
    const unknown = [...env.keys()].filter((key) => !knownEnv.has(key) && !extraEnv.test(key));
    expect(unknown, `${name} sets env vars ConsumerEnvSchema does not read (typo?)`).toEqual([]);
    expect([...env.keys()].filter((key) => key === 'AWS_REGION' || key.endsWith('_ENDPOINT')), 'AWS_REGION is reserved by Lambda; *_ENDPOINT is for local stand-ins').toEqual([]);
    if (env.has('MODEL_PATH')) expect(env.get('MODEL_PATH'), 'the bundle ships the model as ./model.json').toBe('"./model.json"');
  });

  it('keeps the bundles entry points in step with the Lambdas deployed', () => {
    // Resource names take underscores where bundle names take dashes (kafka_consumer, kafka-consumer).
    for (const entry of bundled.filter((e) => e.name !== 'api')) {
      expect(functions.map((f) => f.name.replace(/_/g, '-')), `bundle ${entry.name} has no aws_lambda_function "${entry.name}"`).toContain(entry.name);
    }
  });

  it('defaults the scoring policy to the code\'s defaults', () => {
    const defaults = ConsumerEnvSchema.parse({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://example.com/q' });
    expect(variableDefault('churn_threshold')).toBe(DEFAULT_RISK_POLICY.threshold);
    expect(variableDefault('risk_margin')).toBe(DEFAULT_RISK_POLICY.margin);
    expect(variableDefault('churn_threshold')).toBe(defaults.CHURN_THRESHOLD);
    expect(variableDefault('risk_margin')).toBe(defaults.RISK_MARGIN);
    expect(variableDefault('score_clock')).toBe(defaults.SCORE_CLOCK);
    expect(variableDefault('sweep_batch_limit')).toBe(defaults.SWEEP_BATCH_LIMIT);
    expect(variableDefault('sweep_schedule')).toBe('rate(15 minutes)');
  });

  it('defaults the event-time bounds to the code\'s, and passes them to the consumer and the sweep', () => {
    const defaults = ConsumerEnvSchema.parse({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://example.com/q' });
    expect(variableDefault('earliest_event_time')).toBe(defaults.EARLIEST_EVENT_TIME);
    expect(variableDefault('max_event_skew_hours')).toBe(defaults.MAX_EVENT_SKEW_HOURS);
    const scorer = mapKeys(localExpression('scorer_environment'));
    expect(scorer.get('EARLIEST_EVENT_TIME')).toBe('var.earliest_event_time');
    expect(scorer.get('MAX_EVENT_SKEW_HOURS')).toBe('tostring(var.max_event_skew_hours)');
  });

  it('defaults the duplicate horizon to the code\'s, and passes it to the consumer and the sweep', () => {
    const defaults = ConsumerEnvSchema.parse({ STATE_TABLE: 't', DEAD_LETTER_QUEUE_URL: 'https://example.com/q' });
    expect(variableDefault('duplicate_horizon_days')).toBe(defaults.DUPLICATE_HORIZON_DAYS);
    expect(mapKeys(localExpression('scorer_environment')).get('DUPLICATE_HORIZON_DAYS')).toBe('tostring(var.duplicate_horizon_days)');
  });

  it('runs the sweep on a schedule', () => {
    const schedules = resourcesOf('aws_scheduler_schedule');
    expect(schedules.map((s) => nested(s.body, 'target').map((t) => attr(t, 'arn'))).flat()).toContain('aws_lambda_function.sweep.arn');
  });
});

describe('terraform: alert schemas', () => {
  it('feed the registry the committed schema file of every detail-type', () => {
    const detailTypes = mapKeys(localExpression('alert_detail_types'));
    const schemaFiles = mapKeys(localExpression('alert_schema_files'));
    expect(JSON.parse(localExpression('alert_source')), 'alert source').toBe(ALERT_SOURCE);
    expect([...detailTypes.values()].map((v) => JSON.parse(v)).sort(), 'detail-types drifted from models/customer/alertEvent.ts').toEqual([...ALERT_DETAIL_TYPES].sort());
    for (const [key, raw] of detailTypes) {
      const detailType = JSON.parse(raw) as (typeof ALERT_DETAIL_TYPES)[number];
      const file = schemaFiles.get(key);
      expect(file, `no schema file for ${detailType}`).toBeDefined();
      expect(file, `${detailType} should use its committed schema`).toBe(`"\${path.module}/../consumers/alerts/schemas/${alertSchemaFileName(detailType)}"`);
      expect(existsSync(join(TF_DIR, '..', 'consumers', 'alerts', 'schemas', alertSchemaFileName(detailType)))).toBe(true);
    }
    const committed = readdirSync(join(ROOT, 'consumers', 'alerts', 'schemas')).filter((f) => f.endsWith('.json')).sort();
    const referenced = [...schemaFiles.values()].map((v) => /schemas\/([^"]+)"$/.exec(v)?.[1]).sort();
    expect(referenced, 'every committed schema file is deployed').toEqual(committed);
  });

  it('are aws_schemas_schema resources of a type the registry accepts, built from those files', () => {
    const schemas = resourcesOf('aws_schemas_schema');
    expect(schemas.length).toBeGreaterThan(0);
    for (const schema of schemas) {
      expect(['OpenApi3', 'JSONSchemaDraft4']).toContain(value(schema.body, 'type'));
      expect(attr(schema.body, 'for_each') ?? '').toBe('local.alert_schema_files');
    }
    expect(localExpression('alert_event_schemas'), 'the registry content must come from the committed files').toMatch(/file\(path\)/);
  });
});

describe('terraform: hygiene', () => {
  it('declares every var.* and local.* it uses', () => {
    const declaredVars = new Set(blocks(tf, 'variable "\\w+"').map((b) => /"(\w+)"/.exec(b.header)![1]));
    const usedVars = new Set([...tf.matchAll(/\bvar\.(\w+)/g)].map((m) => m[1]));
    expect([...usedVars].filter((v) => !declaredVars.has(v)), 'undeclared variables').toEqual([]);
    const declaredLocals = new Set(localsBodies.flatMap((body) => [...topLevel(body).matchAll(/(^|\n)\s*(\w+)\s*=/g)].map((m) => m[2])));
    const usedLocals = new Set([...tf.matchAll(/\blocal\.(\w+)/g)].map((m) => m[1]));
    expect([...usedLocals].filter((l) => !declaredLocals.has(l)), 'undeclared locals').toEqual([]);
  });

  it('grants no wildcard actions in Allow statements', () => {
    const wide: string[] = [];
    for (const document of blocks(tf, 'data "aws_iam_policy_document" "\\w+"')) {
      for (const statement of nested(document.body, 'statement')) {
        if (value(statement, 'effect') === 'Deny') continue;
        const actions = (value(statement, 'actions') as string[] | undefined) ?? [];
        wide.push(...actions.filter((a) => a === '*' || a.endsWith(':*')).map((a) => `${document.header}: ${a}`));
      }
    }
    expect(wide).toEqual([]);
  });

  it('has log groups with retention for both Lambdas', () => {
    for (const name of ['consumer', 'sweep']) {
      const group = resource('aws_cloudwatch_log_group', name);
      expect(attr(group, 'retention_in_days')).toBe('var.log_retention_days');
      expect(nested(resource('aws_lambda_function', name), 'logging_config').map((b) => attr(b, 'log_group'))).toEqual([`aws_cloudwatch_log_group.${name}.name`]);
    }
  });
});

describe('terraform: API (api.tf)', () => {
  const fn = resource('aws_lambda_function', 'api');
  const apiShape = ApiEnvSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean } }>;

  it('deploys api/lambda.ts from the bundle, nodejs22.x on arm64, under the HTTP API limit', () => {
    const entry = LAMBDA_ENTRIES.find((e) => e.name === 'api');
    expect(entry?.entry).toBe('api/lambda.ts');
    expect(value(fn, 'runtime')).toBe('nodejs22.x');
    expect(value(fn, 'handler')).toBe(LAMBDA_HANDLER);
    expect(attr(fn, 'filename')).toMatch(/\/api\.zip"$/);
    expect(attr(fn, 'source_code_hash')).toContain('/api.zip")');
    expect(attr(fn, 'architectures')).toMatch(/arm64/);
    expect(readFileSync(join(ROOT, 'api', 'lambda.ts'), 'utf8')).toMatch(/export\s+const\s+handler\b/);
    expect(Number(variableDefault('api_timeout_seconds'))).toBeLessThanOrEqual(29);
  });

  it('sets every required ApiEnvSchema variable, and nothing unknown', () => {
    const environment = nested(fn, 'environment');
    expect(environment).toHaveLength(1);
    const env = mapKeys(environment[0].slice(environment[0].indexOf('{')));
    const required = Object.keys(apiShape).filter((key) => !apiShape[key].safeParse(undefined).success);
    expect(required.filter((key) => !env.has(key)), 'required API env vars missing').toEqual([]);
    expect([...env.keys()].filter((key) => !(key in apiShape) && key !== 'NODE_OPTIONS'), 'env vars ApiEnvSchema does not read').toEqual([]);
    expect([...env.keys()].filter((key) => key === 'AWS_REGION' || key.endsWith('_ENDPOINT'))).toEqual([]);
    for (const key of ['ATHENA_OUTPUT_LOCATION', 'CORS_ALLOWED_ORIGINS', 'LOG_LEVEL', 'MODEL_PATH']) expect(env.has(key), key).toBe(true);
    expect(env.get('MODEL_PATH')).toBe('"./model.json"');
    expect(env.get('ATHENA_WORKGROUP')).toBe('aws_athena_workgroup.lake.name');
    expect(env.get('STATE_TABLE')).toBe('aws_dynamodb_table.state.name');
  });

  it('may query the lake and only read the state table', () => {
    const policy = blocks(tf, 'data "aws_iam_policy_document" "api"')[0]?.body ?? '';
    expect(attr(policy, 'source_policy_documents')).toContain('data.aws_iam_policy_document.lake_query.json');
    const dynamo = nested(policy, 'statement').flatMap((statement) => (value(statement, 'actions') as string[]).filter((action) => action.startsWith('dynamodb:')));
    expect(dynamo.sort()).toEqual(['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Scan']);
    expect(attr(resource('aws_iam_role_policy', 'api'), 'role')).toBe('aws_iam_role.api.id');
    expect(attr(fn, 'role')).toBe('aws_iam_role.api.arn');
  });

  it('routes /demand-insights/* of an HTTP API to it with payload 2.0, and lets API Gateway invoke it', () => {
    const integration = resource('aws_apigatewayv2_integration', 'api');
    expect(value(integration, 'integration_type')).toBe('AWS_PROXY');
    expect(value(integration, 'payload_format_version')).toBe('2.0');
    expect(attr(integration, 'integration_uri')).toBe('aws_lambda_function.api.invoke_arn');
    expect(Number(value(integration, 'timeout_milliseconds'))).toBeLessThanOrEqual(30000);
    const routes = resourcesOf('aws_apigatewayv2_route').map((r) => value(r.body, 'route_key'));
    expect(routes).toContain('ANY /demand-insights/{proxy+}');
    expect(value(resource('aws_apigatewayv2_api', 'api'), 'protocol_type')).toBe('HTTP');
    // CORS is the Lambda's (configurable); an API Gateway cors_configuration would answer preflights instead.
    expect(nested(resource('aws_apigatewayv2_api', 'api'), 'cors_configuration')).toEqual([]);
    const permission = resource('aws_lambda_permission', 'api');
    expect(value(permission, 'principal')).toBe('apigateway.amazonaws.com');
    expect(attr(permission, 'function_name')).toMatch(/^aws_lambda_function\.api\./);
  });

  it('has log groups with retention for the function and the stage', () => {
    expect(attr(resource('aws_cloudwatch_log_group', 'api'), 'retention_in_days')).toBe('var.log_retention_days');
    expect(nested(fn, 'logging_config').map((b) => attr(b, 'log_group'))).toEqual(['aws_cloudwatch_log_group.api.name']);
    expect(nested(resource('aws_apigatewayv2_stage', 'api'), 'access_log_settings')).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------
// The real thing, where a terraform binary and a local provider mirror exist (no registry here):
// terraform fmt -check, init -plugin-dir, validate, in a scratch copy so nothing lands in the tree.

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
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }, 180_000);
});

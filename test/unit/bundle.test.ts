import { parse } from '@cdktf/hcl2json';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleLambdas, type BundleReport, crc32, LAMBDA_ENTRIES, LAMBDA_HANDLER, zipFiles } from '../../bin/commands/bundle.ts';
import { ApiEnvSchema } from '../../api/lambda.ts';
import { httpApiEvent } from '../../api/http/events.ts';
import { ConsumerEnvSchema } from '../../consumers/consumerConfig.ts';
import { btydArtifact } from '../../models/clv/btydModel.ts';

/** Reads a zip through its central directory, inflating and CRC-checking every entry. */
function readZip(zip: Buffer): Map<string, Buffer> {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (end < 0) throw new Error('no end-of-central-directory record');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`bad central header at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const crc = zip.readUInt32LE(at + 16);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localOffset = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    if (zip.readUInt32LE(localOffset) !== 0x04034b50) throw new Error(`bad local header for ${name}`);
    const dataStart = localOffset + 30 + zip.readUInt16LE(localOffset + 26) + zip.readUInt16LE(localOffset + 28);
    const body = zip.subarray(dataStart, dataStart + compressed);
    const data = method === 8 ? inflateRawSync(body) : Buffer.from(body);
    if (crc32(data) !== crc) throw new Error(`CRC mismatch for ${name}`);
    files.set(name, data);
    at += 46 + nameLength + extraLength + commentLength;
  }
  return files;
}

function runNode(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      args,
      // A bare environment: nothing the Lambdas read may leak in from the test runner.
      { cwd, env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    );
  });
}

/** Wraps process.env before anything else loads, so reads made at import time are recorded. */
const ENV_SPY = `
const reads = new Set();
globalThis.__envReads = reads;
process.env = new Proxy(process.env, {
  get(target, key) { if (typeof key === 'string') reads.add(key); return Reflect.get(target, key); },
  has(target, key) { if (typeof key === 'string') reads.add(key); return Reflect.has(target, key); },
});
`;

/**
 * Imports a bundle, records the config variables read at import, then invokes it: `consumer` with
 * an empty Kinesis batch, `api` with the API Gateway event in argv[4]; `import-only` does not invoke.
 */
const PROBE = `
const [bundle, mode, eventJson] = process.argv.slice(2);
const mod = await import(bundle);
const out = { exports: Object.keys(mod).sort(), handlerType: typeof mod.handler, readAtImport: [...globalThis.__envReads] };
const event = mode === 'api' ? JSON.parse(eventJson) : { Records: [] };
if (mode !== 'import-only') {
  try {
    out.unconfigured = await mod.handler(event);
  } catch (error) {
    out.unconfigured = error.message;
  }
  Object.assign(process.env, mode === 'api'
    ? { ATHENA_DATABASE: 'lake', ATHENA_WORKGROUP: 'wg', STATE_TABLE: 'customers', LAKE_SQL_DIR: './sql', AWS_REGION: 'eu-west-1', LOG_LEVEL: 'ERROR' }
    : { STATE_TABLE: 'customers', DEAD_LETTER_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq', AWS_REGION: 'eu-west-1' });
  out.configured = await mod.handler(event);
}
// The Lambdas log (and emit metrics) on stdout too: mark the probe's line.
process.stdout.write('\\nPROBE ' + JSON.stringify(out) + '\\n');
`;

interface Probe {
  exports: string[];
  handlerType: string;
  readAtImport: string[];
  unconfigured?: unknown;
  configured?: unknown;
}

function parseProbe(stdout: string): Probe {
  const line = stdout.split('\n').find((l) => l.startsWith('PROBE '));
  if (!line) throw new Error(`the probe printed no result:\n${stdout}`);
  return JSON.parse(line.slice('PROBE '.length)) as Probe;
}

const CONSUMER_KEYS = Object.keys(ConsumerEnvSchema.shape).filter((key) => key !== 'AWS_REGION');
// LOG_LEVEL is left out: Powertools' Logger, constructed at import, reads it itself (api/lambda.ts
// then applies the checked value on the first invocation).
const API_KEYS = Object.keys(ApiEnvSchema.shape).filter((key) => key !== 'AWS_REGION' && key !== 'LOG_LEVEL');

/**
 * The Lambda functions Terraform deploys: package name (`<name>.zip`) and handler, from the
 * root module's aws_lambda_function resources and its calls of modules/demand-insights-lambda
 * (the API), read with HashiCorp's HCL parser (@cdktf/hcl2json, as in terraform.test.ts).
 */
async function terraformFunctions(): Promise<{ name: string; handler: string }[]> {
  const dir = fileURLToPath(new URL('../../terraform/', import.meta.url));
  const packageOf = (path: unknown, where: string) => {
    const zip = /^\$\{local\.lambda_artifacts_dir\}\/([\w-]+)\.zip$/.exec(String(path));
    if (!zip) throw new Error(`${where}: a Lambda function without a bundled package`);
    return zip[1];
  };
  const moduleDir = join(dir, 'modules', 'demand-insights-lambda');
  const moduleHandler = (await parse('main.tf', readFileSync(join(moduleDir, 'main.tf'), 'utf8'))).resource.aws_lambda_function.this[0].handler as string;
  const functions: { name: string; handler: string }[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tf'))) {
    const parsed = await parse(file, readFileSync(join(dir, file), 'utf8'));
    for (const [name, bodies] of Object.entries((parsed.resource?.aws_lambda_function ?? {}) as Record<string, Record<string, unknown>[]>)) {
      for (const body of bodies) functions.push({ name: packageOf(body.filename, `${file} ${name}`), handler: String(body.handler) });
    }
    for (const [name, calls] of Object.entries((parsed.module ?? {}) as Record<string, Record<string, unknown>[]>)) {
      for (const call of calls.filter((c) => c.source === './modules/demand-insights-lambda')) {
        functions.push({ name: packageOf(call.lambda_zip_path, `${file} module.${name}`), handler: moduleHandler });
      }
    }
  }
  return functions.sort((a, b) => a.name.localeCompare(b.name));
}

describe('bundle (every Lambda Terraform deploys, real entry points)', () => {
  let work: string;
  let reports: BundleReport[];
  const probe = async (name: string, mode: 'consumer' | 'api' | 'import-only', event?: unknown) => {
    const report = reports.find((r) => r.name === name)!;
    const args = ['--import', pathToFileURL(join(work, 'env-spy.mjs')).href, join(work, 'probe.mjs'), pathToFileURL(report.file).href, mode];
    if (event !== undefined) args.push(JSON.stringify(event));
    return parseProbe(await runNode(args, report.dir));
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'di-bundle-'));
    const model = btydArtifact({
      horizonDays: 90,
      calibrationEnd: '2024-06-30',
      trainedOn: { customers: 10, events: 20 },
      bgnbd: { r: 0.24, alpha: 4.4, a: 0.79, b: 2.4, logLikelihood: -100 },
      gammaGamma: { p: 6.2, q: 3.9, gamma: 15.4, logLikelihood: -50 },
    });
    await writeFile(join(work, 'model.json'), JSON.stringify(model));
    await writeFile(join(work, 'env-spy.mjs'), ENV_SPY);
    await writeFile(join(work, 'probe.mjs'), PROBE);
    // No --only: everything `demand-insights bundle` builds for Terraform.
    reports = await bundleLambdas({ out: join(work, 'dist'), model: join(work, 'model.json') });
  }, 180_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('builds exactly the packages Terraform deploys, each with the handler Terraform names', async () => {
    const deployed = await terraformFunctions();
    expect(deployed.map((f) => f.name)).toEqual(['api', 'consumer', 'curation', 'kafka-consumer', 'sweep', 'trainer']);
    expect(reports.map((r) => r.name).sort()).toEqual(deployed.map((f) => f.name));
    expect(LAMBDA_ENTRIES.map((e) => e.name).sort()).toEqual(deployed.map((f) => f.name));
    for (const f of deployed) expect(f.handler, f.name).toBe(LAMBDA_HANDLER);
    expect(LAMBDA_HANDLER).toBe('index.handler');
  });

  it('writes index.mjs and a zip holding the code, its source map, the model and (API) the SQL files', async () => {
    const sqlFiles = readdirSync(fileURLToPath(new URL('../../api/sql/', import.meta.url))).filter((f) => f.endsWith('.sql'));
    expect(sqlFiles.length).toBeGreaterThan(0);
    for (const report of reports.filter((r) => r.name !== 'curation' && r.name !== 'trainer')) {
      expect(report.bytes).toBeGreaterThan(10_000);
      // Lambda's direct-upload limit is 50 MB zipped; stay far below it.
      expect(report.zipBytes).toBeLessThan(10 * 1024 * 1024);
      const files = readZip(await readFile(report.zip!));
      const assets = report.name === 'api' ? sqlFiles.map((f) => `sql/${f}`) : [];
      expect([...files.keys()].sort(), report.name).toEqual(['index.mjs', 'index.mjs.map', 'model.json', ...assets].sort());
      expect(files.get('index.mjs')!.equals(await readFile(report.file))).toBe(true);
      expect(JSON.parse(files.get('model.json')!.toString('utf8')).kind).toBe('btyd');
      for (const asset of assets) expect(files.get(asset)!.toString('utf8')).toBe(readFileSync(join(fileURLToPath(new URL('../../api/', import.meta.url)), asset), 'utf8'));
      const code = files.get('index.mjs')!.toString('utf8');
      expect(code.startsWith("import { createRequire as __diCreateRequire } from 'node:module';"), 'require banner').toBe(true);
    }
  });

  it('writes the curation with its SQL files and no model', async () => {
    const report = reports.find((r) => r.name === 'curation')!;
    const sqlDir = fileURLToPath(new URL('../../lake/sql/', import.meta.url));
    const sqlFiles = readdirSync(sqlDir).filter((f) => f.endsWith('.sql'));
    expect(sqlFiles).toEqual(expect.arrayContaining(['curate_order_lines.sql', 'curate_products.sql']));
    const files = readZip(await readFile(report.zip!));
    expect([...files.keys()].sort()).toEqual(['index.mjs', 'index.mjs.map', ...sqlFiles.map((f) => `curation-sql/${f}`)].sort());
    for (const f of sqlFiles) expect(files.get(`curation-sql/${f}`)!.toString('utf8')).toBe(readFileSync(join(sqlDir, f), 'utf8'));
  });

  it('the curation imports in Node, exports handler, and reads no config at import', async () => {
    const report = reports.find((r) => r.name === 'curation')!;
    const args = ['--import', pathToFileURL(join(work, 'env-spy.mjs')).href, join(work, 'probe.mjs'), pathToFileURL(report.file).href, 'import-only'];
    const result = parseProbe(await runNode(args, report.dir));
    expect(result.handlerType).toBe('function');
    expect(result.readAtImport.filter((key) => ['ATHENA_DATABASE', 'CURATED_ROOT', 'LOOKBACK_DAYS'].includes(key))).toEqual([]);
  }, 60_000);

  it('writes the trainer with no model (it compares with what the store serves); it imports in Node and reads no config at import', async () => {
    const report = reports.find((r) => r.name === 'trainer')!;
    expect([...readZip(await readFile(report.zip!)).keys()].sort()).toEqual(['index.mjs', 'index.mjs.map']);
    const args = ['--import', pathToFileURL(join(work, 'env-spy.mjs')).href, join(work, 'probe.mjs'), pathToFileURL(report.file).href, 'import-only'];
    const result = parseProbe(await runNode(args, report.dir));
    expect(result.handlerType).toBe('function');
    expect(result.readAtImport.filter((key) => ['ATHENA_DATABASE', 'MODEL_URI', 'TRAINING_DAYS'].includes(key))).toEqual([]);
  }, 60_000);

  it('the consumer imports in Node, exports handler, reads no config at import, and cold-starts from its own directory', async () => {
    const result = await probe('consumer', 'consumer');
    expect(result.handlerType).toBe('function');
    expect(result.exports).toContain('handler');
    expect(result.readAtImport.filter((key) => CONSUMER_KEYS.includes(key)), 'config read at import time').toEqual([]);
    // Without configuration the first invocation fails, naming what is missing…
    expect(result.unconfigured).toMatch(/invalid consumer configuration/);
    expect(result.unconfigured).toMatch(/STATE_TABLE/);
    // …and with it, the bundle finds ./model.json (the default MODEL_PATH) and handles an empty batch.
    expect(result.configured).toEqual({ batchItemFailures: [] });
  }, 60_000);

  it('the sweep imports in Node, exports handler, and reads no config at import', async () => {
    const result = await probe('sweep', 'import-only');
    expect(result.handlerType).toBe('function');
    expect(result.exports).toContain('handler');
    expect(result.readAtImport.filter((key) => CONSUMER_KEYS.includes(key)), 'config read at import time').toEqual([]);
  }, 60_000);

  it('the API imports in Node, exports handler, reads no config at import, refuses to run unconfigured and serves once configured', async () => {
    const event = httpApiEvent({ method: 'GET', url: '/demand-insights/openapi.json' });
    const result = await probe('api', 'api', event);
    expect(result.handlerType).toBe('function');
    expect(result.exports).toContain('handler');
    expect(result.readAtImport.filter((key) => API_KEYS.includes(key)), 'config read at import time').toEqual([]);
    // Unconfigured: a bare 500, not a crash at load…
    expect(result.unconfigured).toMatchObject({ statusCode: 500 });
    // …configured as Terraform configures it: a route that needs neither Athena nor DynamoDB answers.
    const configured = result.configured as { statusCode: number; body: string };
    expect(configured.statusCode).toBe(200);
    expect(JSON.parse(configured.body)).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
  }, 60_000);
});

describe('bundle (options and packaging)', () => {
  let root: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'di-bundle-root-'));
    await mkdir(join(root, 'consumers', 'lambda'), { recursive: true });
    await writeFile(join(root, 'consumers', 'lambda', 'kinesisConsumer.ts'), 'export const handler = async (): Promise<object> => ({ ok: true });\n');
    await writeFile(join(root, 'consumers', 'lambda', 'sweep.ts'), 'export async function handler(): Promise<number> { return 1; }\n');
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('refuses an entry point that does not exist', async () => {
    // This root has no api/lambda.ts.
    await expect(bundleLambdas({ root, out: join(root, 'dist'), only: ['api'] })).rejects.toThrow(/entry point api\/lambda\.ts not found/);
  });

  it('refuses a missing or invalid model and an unknown --only name, with the option named', async () => {
    await expect(bundleLambdas({ root, out: join(root, 'dist'), model: join(root, 'nope.json') })).rejects.toThrow(/--model: cannot read .*nope\.json/);
    await writeFile(join(root, 'bad.json'), JSON.stringify({ kind: 'btyd' }));
    await expect(bundleLambdas({ root, out: join(root, 'dist'), model: join(root, 'bad.json') })).rejects.toThrow(/--model: .*bad\.json/);
    await expect(bundleLambdas({ root, only: 'consumer,nightly' })).rejects.toThrow(/--only: unknown lambda nightly/);
  });

  it('builds the same zip bytes from the same inputs, and honours --no-sourcemap', async () => {
    // The sweep ships the model, and bundling validates it: give it a real (tiny) artifact.
    const model = btydArtifact({
      horizonDays: 30,
      calibrationEnd: '2024-01-31',
      trainedOn: { customers: 1, events: 1 },
      bgnbd: { r: 1, alpha: 1, a: 1, b: 1, logLikelihood: 0 },
      gammaGamma: { p: 1, q: 2, gamma: 1, logLikelihood: 0 },
    });
    await writeFile(join(root, 'model.json'), JSON.stringify(model));
    const options = { root, model: join(root, 'model.json'), sourcemap: false, only: 'sweep' };
    const [first] = await bundleLambdas({ ...options, out: join(root, 'a') });
    const [second] = await bundleLambdas({ ...options, out: join(root, 'b') });
    const bytes = await readFile(first.zip!);
    expect(bytes.equals(await readFile(second.zip!))).toBe(true);
    expect([...readZip(bytes).keys()].sort()).toEqual(['index.mjs', 'model.json']);
    expect(existsSync(join(root, 'a', 'sweep', 'index.mjs.map'))).toBe(false);
  });

  it('zips stored and deflated entries that round-trip', () => {
    const files = readZip(zipFiles([
      { name: 'a.txt', data: Buffer.from('x'.repeat(10_000)) },
      { name: 'b.bin', data: Buffer.from([1]) },
    ]));
    expect(files.get('a.txt')!.toString()).toBe('x'.repeat(10_000));
    expect([...files.get('b.bin')!]).toEqual([1]);
  });
});

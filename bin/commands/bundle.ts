import { existsSync } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { z } from 'zod';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import { loadSegmentModel } from '../../models/segmentation/segmentation.ts';
import { segmentModelPathFor } from '../../models/segmentation/segmentNaming.ts';

/**
 * `demand-insights bundle`: one self-contained ESM file per Lambda, plus a zip for Terraform.
 *
 * Choices, and why:
 * - **Everything is bundled, the AWS SDK v3 included.** nodejs22.x ships an SDK, but its version
 *   moves under us with each runtime patch; bundling pins exactly the versions the tests ran
 *   against, and tree-shaken, minified SDK clients cost well under a megabyte. `--external-aws-sdk`
 *   leaves `@aws-sdk/*` and `@smithy/*` to the runtime when size matters more than pinning.
 * - **ESM with a `require` shim.** Some dependencies are CommonJS and call `require` for Node
 *   built-ins; in an ESM bundle esbuild turns those into a `__require` that throws unless a real
 *   `require` exists, so the banner defines one with `createRequire(import.meta.url)`.
 * - **We write the zip ourselves** (deflate + CRC-32, fixed timestamps): Terraform then needs only
 *   the AWS provider, and the same inputs always give the same bytes, so `source_code_hash` only
 *   changes when the code or the model does.
 * - The model artifact is validated here and shipped beside the code as `model.json`, which is
 *   the default MODEL_PATH (Lambda runs with the package root as its working directory).
 * - Source maps are external (without sources, to stay small) and shipped in the zip; Terraform
 *   sets NODE_OPTIONS=--enable-source-maps so stack traces point at the TypeScript.
 */

export interface LambdaEntry {
  /** Bundle name: dist/lambda/<name>/index.mjs and dist/lambda/<name>.zip. */
  name: string;
  /** Entry point, relative to the repository root. */
  entry: string;
  /** Whether the model artifact ships in the package. */
  model: boolean;
  /** Files shipped beside index.mjs: every file of a repository folder, into a package folder. */
  assets?: { from: string; to: string };
}

/** Every Lambda handler exported as `handler` from index.mjs: Terraform's handler is "index.handler". */
export const LAMBDA_HANDLER = 'index.handler';
export const LAMBDA_ENTRIES: readonly LambdaEntry[] = [
  { name: 'consumer', entry: 'consumers/lambda/kinesisConsumer.ts', model: true },
  // Deployed only when terraform/kafka.tf is switched on (an MSK ARN or bootstrap servers).
  { name: 'kafka-consumer', entry: 'consumers/lambda/kafkaConsumer.ts', model: true },
  { name: 'sweep', entry: 'consumers/lambda/sweep.ts', model: true },
  // The API scores customers too (live rows rescored, lake-only customers scored) and runs the
  // lake's SQL files, which it finds in ./sql (LAKE_SQL_DIR in terraform/api.tf).
  { name: 'api', entry: 'api/lambda.ts', model: true, assets: { from: 'api/sql', to: 'sql' } },
  // The lake's curation drives Athena with the SQL files of lake/sql, shipped in ./curation-sql.
  { name: 'curation', entry: 'lake/lambda/curation.ts', model: false, assets: { from: 'lake/sql', to: 'curation-sql' } },
  // The weekly trainer publishes to the model store (MODEL_URI); it compares with what the store serves, not a bundled model.
  { name: 'trainer', entry: 'trainer/lambda/trainer.ts', model: false },
];

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const BundleOptionsSchema = z.object({
  out: z.string().min(1).default('dist/lambda'),
  model: z.string().min(1).default('.local/model.json'),
  only: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((value) => (value === undefined ? undefined : [value].flat().flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean))),
  minify: z.boolean().default(true),
  sourcemap: z.boolean().default(true),
  zip: z.boolean().default(true),
  externalAwsSdk: z.boolean().default(false),
  /** Repository root holding the entry points (tests only). */
  root: z.string().optional(),
});

export type BundleOptions = z.input<typeof BundleOptionsSchema>;

export interface BundleReport {
  name: string;
  dir: string;
  file: string;
  bytes: number;
  zip?: string;
  zipBytes?: number;
}

const NATIVE_LOCAL_ONLY = ['@duckdb/*'];

const REQUIRE_BANNER = [
  "import { createRequire as __diCreateRequire } from 'node:module';",
  'const require = __diCreateRequire(import.meta.url);',
].join(' ');

export async function run(rawOptions: Record<string, unknown>): Promise<void> {
  const reports = await bundleLambdas(rawOptions as BundleOptions);
  const say = (line: string) => process.stdout.write(`${line}\n`);
  for (const report of reports) {
    const zipped = report.zip ? `, ${relative(process.cwd(), report.zip)} ${kib(report.zipBytes!)}` : '';
    say(`• ${report.name.padEnd(9)} ${relative(process.cwd(), report.file)} ${kib(report.bytes)}${zipped}`);
  }
}

/** Bundles (and zips) the selected Lambdas; returns what was written, for the CLI and tests. */
export async function bundleLambdas(rawOptions: BundleOptions = {}): Promise<BundleReport[]> {
  const parsed = BundleOptionsSchema.safeParse(rawOptions);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
  const options = parsed.data;
  const root = options.root ? resolve(options.root) : REPO_ROOT;

  const unknown = (options.only ?? []).filter((name) => !LAMBDA_ENTRIES.some((entry) => entry.name === name));
  if (unknown.length > 0) throw new Error(`--only: unknown lambda ${unknown.join(', ')} (expected ${LAMBDA_ENTRIES.map((e) => e.name).join(', ')})`);
  const selected = LAMBDA_ENTRIES.filter((entry) => !options.only || options.only.includes(entry.name));

  const wantsModel = selected.some((entry) => entry.model && existsSync(join(root, entry.entry)));
  const model = wantsModel ? await readModel(options.model) : undefined;
  const segments = wantsModel ? await readSegments(segmentModelPathFor(options.model)) : undefined;

  const reports: BundleReport[] = [];
  for (const entry of selected) {
    const entryPath = join(root, entry.entry);
    if (!existsSync(entryPath)) throw new Error(`entry point ${entry.entry} not found`);
    reports.push(await bundleOne(entry, entryPath, options, model, segments));
  }
  return reports;
}

async function readModel(path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(
      `--model: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ` +
        'write one with `demand-insights train --out <file>` or `demand-insights local`',
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`--model: ${path} is not JSON: ${(error as Error).message}`);
  }
  // Fail here rather than at the Lambdas' cold start.
  try {
    loadModel(json);
  } catch (error) {
    throw new Error(`--model: ${path}: ${(error as Error).message}`);
  }
  return text;
}

/** The segment model beside the model artifact, if there is one: it names the alerts' segments. */
async function readSegments(path: string): Promise<string | undefined> {
  if (!existsSync(path)) return undefined;
  const text = await readFile(path, 'utf8');
  try {
    loadSegmentModel(JSON.parse(text));
  } catch (error) {
    throw new Error(`segment model ${path}: ${(error as Error).message}`);
  }
  return text;
}

type ParsedOptions = z.output<typeof BundleOptionsSchema>;

async function bundleOne(entry: LambdaEntry, entryPath: string, options: ParsedOptions, model: string | undefined, segments?: string): Promise<BundleReport> {
  const outRoot = resolve(options.out);
  const dir = join(outRoot, entry.name);
  const file = join(dir, 'index.mjs');
  // A stale model.json or source map from an earlier build must not ride along.
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });

  await build({
    entryPoints: [entryPath],
    outfile: file,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: options.minify,
    sourcemap: options.sourcemap ? 'external' : false,
    sourcesContent: false,
    // Prefer packages' ESM builds: they tree-shake (the AWS SDK's dist-es notably).
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    // DuckDB is native and local-only (the Lambdas query through Athena): never bundled, so an
    // entry that reaches it through a shared module still builds, and fails only if it runs it.
    external: [...NATIVE_LOCAL_ONLY, ...(options.externalAwsSdk ? ['@aws-sdk/*', '@smithy/*'] : [])],
    legalComments: 'none',
    logLevel: 'warning',
  });

  const files: ZipEntry[] = [{ name: 'index.mjs', data: await readFile(file) }];
  if (options.sourcemap) files.push({ name: 'index.mjs.map', data: await readFile(`${file}.map`) });
  if (entry.model && model !== undefined) {
    await writeFile(join(dir, 'model.json'), model);
    files.push({ name: 'model.json', data: Buffer.from(model, 'utf8') });
    if (segments !== undefined) {
      await writeFile(join(dir, 'segments.json'), segments);
      files.push({ name: 'segments.json', data: Buffer.from(segments, 'utf8') });
    }
  }

  if (entry.assets) {
    const names = (await readdir(join(REPO_ROOT, entry.assets.from))).sort();
    await mkdir(join(dir, entry.assets.to), { recursive: true });
    for (const name of names) {
      const data = await readFile(join(REPO_ROOT, entry.assets.from, name));
      await writeFile(join(dir, entry.assets.to, name), data);
      files.push({ name: `${entry.assets.to}/${name}`, data });
    }
  }

  const report: BundleReport = { name: entry.name, dir, file, bytes: (await stat(file)).size };
  if (options.zip) {
    const zip = join(outRoot, `${entry.name}.zip`);
    await writeFile(zip, zipFiles(files));
    report.zip = zip;
    report.zipBytes = (await stat(zip)).size;
  }
  return report;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

// ---------------------------------------------------------------------------------------------
// A minimal, deterministic zip writer (PKZIP 2.0: deflate, no zip64 — Lambda packages are far
// below 4 GiB). Timestamps are fixed at 1980-01-01 so identical inputs give identical bytes.

export interface ZipEntry {
  name: string;
  data: Buffer;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = CRC_TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

const DOS_TIME = 0; // 00:00:00
const DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
const UNIX_FILE_0644 = (0o100644 << 16) >>> 0;

export function zipFiles(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const deflated = deflateRawSync(entry.data, { level: 9 });
    const stored = deflated.length >= entry.data.length;
    const body = stored ? entry.data : deflated;
    const method = stored ? 0 : 8;
    const crc = crc32(entry.data);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 (so the mode bits count)
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30); // extra
    central.writeUInt16LE(0, 32); // comment
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attributes
    central.writeUInt32LE(UNIX_FILE_0644, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.length + name.length + body.length;
  }
  const centralSize = centrals.reduce((sum, part) => sum + part.length, 0);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(centralSize, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, ...centrals, end]);
}

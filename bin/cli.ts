import { Argument, Command, Option } from 'commander';

/**
 * The `demand-insights` CLI. Each command's module is imported only when it runs, so
 * `--help` stays instant and one command's dependencies never slow another's start.
 */
const formatOption = () =>
  new Option('--format <format>', 'dataset format').choices(['cdnow', 'online-retail', 'jsonl']);

type Runner = (options: Record<string, unknown>, ...args: string[]) => Promise<void>;
const lazy = (load: () => Promise<{ run: Runner }>) =>
  async (...args: unknown[]) => {
    const command = args[args.length - 1] as Command;
    const positional = command.args as string[];
    await (await load()).run(command.opts(), ...positional);
  };

function buildProgram(): Command {
  const program = new Command('demand-insights')
    .description('Streaming churn/CLV scoring, at-risk alerts and demand analytics for e-commerce')
    .showHelpAfterError();

  program
    .command('local')
    .description('run the whole stack on this machine: embedded Kinesis and DynamoDB, train, replay, score, alert, serve the API')
    .option('--data <file>', 'dataset to replay (default: synthetic events)')
    .addOption(formatOption())
    .option('--customers <n>', 'synthetic customers', '2000')
    .option('--days <n>', 'synthetic days of history', '540')
    .option('--seed <n>', 'synthetic seed', '42')
    .option('--train-fraction <f>', 'share of the history (by time) used to train the model', '0.5')
    .option('--threshold <x>', "the at-risk policy's level (default spend-at-risk: churn probability × spend per year, currency)", '190')
    .addOption(new Option('--stream <kind>', 'the stream: embedded kinesalite, or a real Kafka broker started from .cache/').choices(['kinesis', 'kafka']).default('kinesis'))
    .option('--shards <n>', 'Kinesis shards (Kafka partitions)', '2')
    .option('--batch-size <n>', 'records per handler invocation (event source mapping BatchSize)', '100')
    .option('--batching-window-ms <ms>', 'event source mapping MaximumBatchingWindowInSeconds, in ms', '200')
    .option('--out <dir>', 'where alerts, dead letters and the model are written', '.local')
    .option('--poison <n>', 'malformed records mixed into the replay to show the dead-letter path', '5')
    .option('--port <port>', 'API and dashboard port, served from the start of the replay (0 = any free port)', '8080')
    .addOption(new Option('--store <kind>', 'state store: memory (in process) or dynamodb (embedded dynalite, full fidelity)').choices(['memory', 'dynamodb']).default('memory'))
    .option('--no-serve', 'exit after the replay instead of serving the API and consuming new events')
    .option('--replay-rate <events/s>', 'pace the Kinesis replay at this many events per second, to watch the dashboard follow it (default: full speed)')
    .option('--quiet', 'print the summary only')
    .action(lazy(() => import('./commands/local.ts')));

  program
    .command('train')
    .description('fit the churn/CLV model on a dataset and write the versioned artifact')
    .requiredOption('--data <file>', 'dataset')
    .addOption(formatOption().makeOptionMandatory())
    .requiredOption('--out <file>', 'model artifact to write (JSON); or a model store, s3://bucket/prefix or a directory ending in /, to publish to')
    .option('--calibration-end <date>', 'last day of training history (YYYY-MM-DD; default: last day of the data)')
    .option('--horizon-days <n>', 'horizon of churn and CLV', '90')
    .addOption(new Option('--model <kind>', 'hybrid: BTYD + boosted trees (labels from the last horizon of the data); btyd: BG/NBD + Gamma-Gamma alone').choices(['hybrid', 'btyd']).default('hybrid'))
    .option('--force', 'model store only: publish even when worse than the serving model on the holdout')
    .option('--s3-endpoint <url>', 'model store only: a local S3 stand-in')
    .action(lazy(() => import('./commands/train.ts')));

  program
    .command('model')
    .description('a model store (s3://bucket/prefix or a directory): list its versions (* = serving), or roll back to one')
    .addArgument(new Argument('<action>', 'list | rollback').choices(['list', 'rollback']))
    .requiredOption('--store <uri>', 's3://bucket/prefix or a directory')
    .option('--to <version>', 'rollback: the version to serve')
    .option('--s3-endpoint <url>', 'a local S3 stand-in')
    .action(lazy(() => import('./commands/model.ts')));

  program
    .command('generate')
    .description('write deterministic synthetic order events as JSONL')
    .option('--customers <n>', 'customers', '2000')
    .option('--days <n>', 'days of history', '540')
    .option('--seed <n>', 'seed', '42')
    .option('--start <date>', 'first day (YYYY-MM-DD)', '2024-01-01')
    .requiredOption('--out <file>', 'JSONL file to write')
    .action(lazy(() => import('./commands/generate.ts')));

  program
    .command('replay')
    .description('send a dataset to a stream, in event-time order')
    .requiredOption('--data <file>', 'dataset')
    .addOption(formatOption().makeOptionMandatory())
    .addOption(new Option('--to <sink>', 'where to send').choices(['kinesis', 'kafka']).default('kinesis'))
    .option('--stream <name>', 'Kinesis stream name (--to kinesis)')
    .option('--endpoint <url>', 'Kinesis endpoint (for a local stand-in)')
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .option('--brokers <list>', 'Kafka brokers, host:port[,...] (--to kafka)')
    .option('--topic <name>', 'Kafka topic (--to kafka; created with --partitions if missing)')
    .option('--partitions <n>', 'partitions of a topic replay creates (--to kafka)', '4')
    .action(lazy(() => import('./commands/replay.ts')));

  program
    .command('consume')
    .description('a long-running Kafka consumer group over the consumer core, until Ctrl-C')
    .addOption(new Option('--from <source>', 'where to consume from').choices(['kafka']).makeOptionMandatory())
    .requiredOption('--brokers <list>', 'Kafka brokers, host:port[,...]')
    .requiredOption('--topic <name>', 'topic of OrderEvents')
    .requiredOption('--group <id>', 'consumer group id')
    .option('--dead-letter-topic <name>', 'where poison messages go (default: <topic>.dead-letters)')
    .option('--model <file>', 'model artifact', '.local/model.json')
    .option('--table <name>', 'DynamoDB state table (default: in memory, lost at exit)')
    .option('--dynamodb-endpoint <url>', 'DynamoDB endpoint (for a local stand-in)')
    .option('--state-file <file>', 'keep states in memory with a journal file that survives a kill (one process)')
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .option('--alerts <file>', 'JSONL file alerts are appended to', '.local/kafka-alerts.jsonl')
    .option('--threshold <p>', 'churn probability at which a customer is at risk')
    .option('--chunk-size <n>', 'messages per core call', '1000')
    .option('--partitions-concurrently <n>', 'partitions processed at once', '4')
    .action(lazy(() => import('./commands/consume.ts')));

  program
    .command('bench')
    .description('benchmarks; each prints JSON with --json')
    .argument('<which>', 'consumer | kafka | score | train | api | dynamo | local')
    .option('--json', 'print JSON only')
    .option('--events <n>', 'events (consumer, kafka)', '200000')
    .option('--brokers <list>', 'an existing Kafka broker, host:port[,...] (kafka; default: start one)')
    .option('--partitions <n>', 'topic partitions (kafka)', '4')
    .option('--batch-size <n>', 'records per handler invocation (consumer, local)', '100')
    .option('--repeats <n>', 'timed passes per side; the median is reported (consumer)', '3')
    .option('--in-process', "run in this process with its own V8 flags rather than the consumer Lambda's (consumer)")
    .option('--stages', "also time the handler's steps cumulatively, CPU µs per event (consumer)")
    .option('--customers <n>', 'customers (consumer; local: of the generated history, default 20000; api: a synthetic lake of that many, served through the Athena stand-in)')
    .option('--lake <dir>', 'api --customers: keep the synthetic lake in this directory and reuse it when present')
    .option('--calls <n>', 'warm calls per endpoint (api)', '200')
    .option('--days <n>', 'days of generated history (local)', '730')
    .option('--train-fraction <f>', 'share of the history (by time) trained on, the rest replayed (local)', '0.5')
    .option('--shards <n>', 'Kinesis shards (local)', '2')
    .option('--memory-trace', "print the process's RSS and main heap at each stage and every 5 s to stderr (local)")
    .addOption(new Option('--store <kind>', 'state store (local)').choices(['memory', 'dynamodb']).default('memory'))
    .option('--data <file>', 'dataset (api; dynamo, default CDNOW)')
    .addOption(formatOption())
    .action(lazy(() => import('./commands/bench.ts')));

  program
    .command('eval')
    .description('quality protocols: cdnow | alerts | forecast | elasticity, or any dataset with --calibration-end/--holdout-end')
    .argument('[protocol]', 'cdnow | alerts | forecast | elasticity')
    .option('--data <file>', 'dataset')
    .addOption(formatOption())
    .option('--calibration-end <date>', 'YYYY-MM-DD')
    .option('--holdout-end <date>', 'YYYY-MM-DD')
    .option('--export-folds <dir>', "write each fold's feature tables and the out-of-fold predictions as CSV (cdnow / any dataset)")
    .option('--trigger <measure>', 'alerts: the at-risk measure (spend-at-risk, churn, expected-loss, risk-rise)')
    .option('--level <x>', "alerts: the measure's level (default: the policy's)")
    .option('--not-returning-after-days <n>', 'alerts: days of silence before a one-time buyer is "not returning" (0: never)')
    .option('--min-churn <p>', 'alerts: the churn probability expected-loss and risk-rise alerts also need')
    .option('--batch-size <n>', 'alerts: records per handler invocation')
    .option('--json', 'print JSON only')
    .action(lazy(() => import('./commands/eval.ts')));

  program
    .command('bundle')
    .description('bundle the Lambda handlers (esbuild) and zip them for Terraform')
    .option('--out <dir>', 'output directory', 'dist/lambda')
    .option('--model <file>', 'model artifact shipped as model.json', '.local/model.json')
    .option('--only <names>', 'comma-separated subset: consumer,kafka-consumer,sweep,api,curation')
    .option('--no-minify', 'readable output')
    .option('--no-sourcemap', 'no source maps')
    .option('--no-zip', 'bundle only')
    .option('--external-aws-sdk', 'leave @aws-sdk/* and @smithy/* to the nodejs22.x runtime')
    .action(lazy(() => import('./commands/bundle.ts')));

  const lake = program.command('lake').description('the data lake the API queries (Parquet order lines by day, products)');
  lake
    .command('build')
    .description('write the lake from a dataset through the curation: raw JSON lines in <out>/raw/orders/, curated <out>/orders/date=YYYY-MM-DD/ and <out>/products/')
    .requiredOption('--data <file>', 'dataset')
    .addOption(formatOption().makeOptionMandatory())
    .requiredOption('--out <dir>', 'lake root directory (its raw/, orders/, products/ and versions/ are replaced)')
    .action(lazy(() => import('./commands/lake.ts')));
  lake
    .command('curate')
    .description("the deployed lake's curation over a local lake: rebuild days from its raw JSON lines (<lake>/raw/orders/) and swap them in")
    .requiredOption('--lake <dir>', 'lake root directory')
    .option('--from <day>', 'first day to rebuild, YYYY-MM-DD (with --to: a backfill)')
    .option('--to <day>', 'last day to rebuild, YYYY-MM-DD')
    .option('--lookback-days <n>', 'without --from/--to: whole days before today to rebuild', '3')
    .option('--grace-minutes <n>', 'keep superseded rebuilds this long', '60')
    .option('--json', 'print the run report as JSON')
    .action(lazy(() => import('./commands/lakeCurate.ts')));

  program
    .command('serve')
    .description('serve the API locally: DuckDB over the lake, the model, and an HTTP server speaking API Gateway events to the Lambda handler')
    .option('--data <file>', 'dataset: builds the lake into .local/lake and trains the model (unless --lake / --model)')
    .addOption(formatOption())
    .option('--port <n>', 'port', '8080')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--model <file>', 'model artifact (default: train BG/NBD + Gamma-Gamma on --data)')
    .option('--lake <dir>', 'existing lake directory (default: build one from --data into .local/lake)')
    .option('--cors <origins>', 'CORS allowed origins: * or a comma-separated list', '*')
    .option('--dynamodb-endpoint <url>', 'read live scores from a running scorer\'s DynamoDB (e.g. dynalite)')
    .option('--state-table <name>', 'its state table')
    .option('--verbose', 'log every rejected request')
    .action(lazy(() => import('./commands/serve.ts')));

  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    process.stderr.write(`demand-insights: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';

/**
 * A real Apache Kafka broker on this machine: KRaft mode, one node acting as broker and
 * controller, on free loopback ports, with its data in a temporary folder. The jars come from
 * Maven Central (resolved once into a git-ignored cache) and run on the machine's Java 17.
 * 3.9.1, not 4.x: kafkajs 2.2 speaks the protocol versions 4.0 removed.
 */
export const KAFKA_VERSION = '3.9.1';
const ARTIFACT = `org.apache.kafka:kafka_2.13:${KAFKA_VERSION}`;
const DEFAULT_CACHE = resolve(import.meta.dirname, '../../.cache', `kafka-${KAFKA_VERSION}`);
const RESOLVE_ATTEMPTS = 4;
const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 20_000;

export interface KafkaBroker {
  /** `127.0.0.1:port`, for kafkajs `brokers`. */
  brokers: string[];
  /** Where the broker's log goes (read it when something fails). */
  logPath: string;
  stop(): Promise<void>;
}

export interface KafkaBrokerOptions {
  /** Where the jars are cached (default `.cache/kafka-3.9.1/` in the project). */
  cacheDir?: string;
  /** Partitions of an auto-created topic; tests create theirs explicitly. */
  defaultPartitions?: number;
  heapMb?: number;
  say?: (line: string) => void;
}

/** Resolves the jars if needed, formats fresh storage, starts the broker and waits until it answers. */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const say = options.say ?? (() => {});
  const libs = await resolveKafkaJars(options.cacheDir ?? DEFAULT_CACHE, say);
  const dataDir = await mkdtemp(join(tmpdir(), 'demand-insights-kafka-'));
  const [port, controllerPort] = [await freePort(), await freePort()];
  const propertiesPath = join(dataDir, 'server.properties');
  await writeFile(propertiesPath, serverProperties(join(dataDir, 'log'), port, controllerPort, options.defaultPartitions ?? 4));
  await writeFile(join(dataDir, 'log4j.properties'), LOG4J);
  const classpath = `${libs}/*`;
  const jvm = [`-Dlog4j.configuration=file:${join(dataDir, 'log4j.properties')}`, '-cp', classpath];
  const clusterId = (await java([...jvm, 'kafka.tools.StorageTool', 'random-uuid'])).trim();
  await java([...jvm, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propertiesPath]);

  const logPath = join(dataDir, 'broker.log');
  const log = createWriteStream(logPath);
  const heap = options.heapMb ?? 512;
  const child = spawn('java', [`-Xms${Math.min(256, heap)}m`, `-Xmx${heap}m`, ...jvm, 'kafka.Kafka', propertiesPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  // A JVM outlives the process that started it: if this one ends without stop(), take it along.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const brokers = [`127.0.0.1:${port}`];
  const stop = () => stopBroker(child, dataDir);
  try {
    await waitUntilAnswering(brokers, child, logPath);
  } catch (error) {
    await stop();
    throw error;
  }
  say(`• Kafka ${KAFKA_VERSION} (KRaft, one node) at ${brokers[0]}`);
  return { brokers, logPath, stop };
}

/**
 * The broker's jars and their runtime dependencies, copied by Maven into `<cacheDir>/libs`.
 * Resolved into a private folder and renamed into place, so an interrupted or concurrent
 * resolution never leaves a half-filled cache that looks complete. A first run starts from an
 * empty ~/.m2 and depends on Maven Central: failures are retried with backoff, then reported
 * with Maven's own last lines.
 */
export async function resolveKafkaJars(cacheDir: string, say: (line: string) => void = () => {}): Promise<string> {
  const libs = join(cacheDir, 'libs');
  if (await isComplete(libs)) return libs;
  await mkdir(cacheDir, { recursive: true });
  const pomPath = join(cacheDir, 'pom.xml');
  await writeFile(pomPath, POM);
  const staging = join(cacheDir, `libs.${process.pid}.${Date.now()}`);
  say(`• resolving ${ARTIFACT} and its dependencies with Maven into ${libs} (first run only)`);
  let lastError = '';
  for (let attempt = 1; attempt <= RESOLVE_ATTEMPTS; attempt++) {
    try {
      await promisify(execFile)(
        'mvn',
        ['-B', '-q', '-f', pomPath, 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`, '-DincludeScope=runtime', '-Dmaven.wagon.http.retryHandler.count=3'],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      await writeFile(join(staging, COMPLETE_MARK), `${ARTIFACT}\n`);
      try {
        await rename(staging, libs);
      } catch (error) {
        // Another process finished first: its cache is as good as ours.
        if (!(await isComplete(libs))) throw error;
        await rm(staging, { recursive: true, force: true });
      }
      return libs;
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
      if (failure.code === 'ENOENT') throw new Error('Maven (mvn) is not installed: it is needed once to fetch the Kafka broker jars');
      lastError = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim().split('\n').slice(-12).join('\n') || failure.message;
      if (attempt < RESOLVE_ATTEMPTS) {
        say(`• Maven resolution failed (attempt ${attempt}/${RESOLVE_ATTEMPTS}), retrying`);
        await sleep(2_000 * 2 ** attempt);
      }
    }
  }
  throw new Error(`could not resolve ${ARTIFACT} with Maven after ${RESOLVE_ATTEMPTS} attempts (is Maven Central reachable?):\n${lastError}`);
}

const COMPLETE_MARK = '.complete';

async function isComplete(libs: string): Promise<boolean> {
  try {
    await access(join(libs, COMPLETE_MARK));
    return (await readdir(libs)).some((name) => name.startsWith(`kafka_2.13-${KAFKA_VERSION}`));
  } catch {
    return false;
  }
}

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.demand-insights</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <!-- The broker logs through slf4j; without a binding it logs nothing at all. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
`;

const LOG4J = `log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
`;

/** Single node: every internal topic needs replication factor 1, or the group coordinator never comes up. */
function serverProperties(logDir: string, port: number, controllerPort: number, partitions: number): string {
  return `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:${controllerPort}
listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=${logDir}
num.partitions=${partitions}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
log.retention.hours=24
`;
}

async function java(args: string[]): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('java', args, { maxBuffer: 4 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    if (failure.code === 'ENOENT') throw new Error('Java is not installed: the Kafka broker needs Java 17 or later');
    throw new Error(`java ${args.slice(-4).join(' ')} failed: ${failure.stderr?.trim() || failure.message}`);
  }
}

/** Asks the broker for its cluster until it answers; gives up early if the JVM has exited. */
async function waitUntilAnswering(brokers: string[], child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const kafka = new Kafka({ clientId: 'demand-insights-broker-check', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1_000 });
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the Kafka broker exited with code ${child.exitCode}:\n${await tail(logPath)}`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length > 0) return;
    } catch {
      // Not up yet.
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await sleep(250);
  }
  throw new Error(`the Kafka broker did not answer within ${READY_TIMEOUT_MS / 1000} s:\n${await tail(logPath)}`);
}

async function stopBroker(child: ChildProcess, dataDir: string): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
  await rm(dataDir, { recursive: true, force: true });
}

async function tail(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-20).join('\n');
  } catch {
    return '(no broker log)';
  }
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

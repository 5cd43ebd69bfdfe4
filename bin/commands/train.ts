import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { trainBtyd } from '../../models/clv/btydTraining.ts';
import type { HybridArtifact } from '../../models/clv/hybridModel.ts';
import { dayIndex, isoDay, parseIsoDay } from '../../models/time/calendar.ts';
import { readDataset } from '../../producers/datasets/index.ts';
import { parseIsoDay as parseIsoDayOf } from '../../models/time/calendar.ts';
import { datasetFormat, requiredText } from './datasetOptions.ts';

/**
 * `demand-insights train`: fit a churn/CLV model on a dataset and write the versioned artifact.
 * --model hybrid (default): BG/NBD + Gamma-Gamma and boosted trees (models/clv/hybridTraining.ts),
 * trained on features as of calibration-end − horizon with the last horizon's purchases as
 * labels. --model btyd: BG/NBD + Gamma-Gamma alone, fitted up to calibration-end.
 */
export interface TrainOptions {
  data?: unknown;
  format?: unknown;
  out?: unknown;
  calibrationEnd?: unknown;
  horizonDays?: unknown;
  /** 'hybrid' (the CLI's default) or 'btyd'; absent: 'btyd', what run() trained before --model existed. */
  model?: unknown;
  /** With a model store --out: publish even a model worse than the serving one. */
  force?: unknown;
  /** With an s3:// --out: a local S3 stand-in. */
  s3Endpoint?: unknown;
}

/** `--out s3://bucket/prefix` or a directory ending in `/`: a model store (aws/modelStore.ts), not a file. */
export const isModelStoreUri = (out: string): boolean => out.startsWith('s3://') || out.endsWith('/');

const MAX_HORIZON_DAYS = 3650;

export async function run(options: TrainOptions): Promise<void> {
  const started = performance.now();
  const data = requiredText(options.data, '--data');
  const out = requiredText(options.out, '--out');
  const format = datasetFormat(options.format);
  const horizonDays = horizonDaysOf(options.horizonDays ?? '90');
  const requestedEnd = options.calibrationEnd === undefined ? undefined : calibrationEndOf(options.calibrationEnd);
  // The CLI always passes --model (default hybrid); a caller that predates the option gets the BTYD model it expects.
  const kind = modelKind(options.model ?? 'btyd');

  await access(data).catch((error: Error) => {
    throw new Error(`--data: cannot read ${data} (${error.message})`);
  });
  const { events, report } = await readDataset(data, format);
  if (events.length === 0) throw new Error(`${data}: no events could be read (${report.unreadableCount} unreadable rows)`);
  const calibrationEnd = requestedEnd ?? isoDay(dayIndex(Date.parse(events[events.length - 1].occurredAt)));
  if (isModelStoreUri(out)) {
    if (kind !== 'hybrid') throw new Error('--out: a model store takes hybrid models only (--model hybrid)');
    const { publishFromLaptop } = await import('./trainPublish.ts');
    await publishFromLaptop(events, { store: out, calibrationEnd, horizonDays, force: options.force === true, s3Endpoint: options.s3Endpoint });
    return;
  }
  if (kind === 'hybrid') {
    const { trainHybridFromEvents } = await import('../../models/clv/hybridTraining.ts');
    const artifact = trainHybridFromEvents(events, { calibrationEnd, horizonDays });
    await mkdir(dirname(out), { recursive: true });
    const json = JSON.stringify(artifact);
    await writeFile(out, `${json}\n`);
    // The alerts' segment names: shipped beside the model by `bundle`.
    const { segmentModelPathFor, trainSegmentModel } = await import('../../models/segmentation/segmentNaming.ts');
    await writeFile(segmentModelPathFor(out), `${JSON.stringify(trainSegmentModel(events, parseIsoDayOf(calibrationEnd)))}\n`);
    process.stdout.write(hybridSummary(artifact, { out, data, format, read: report.events, unreadable: report.unreadableCount, labelEnd: calibrationEnd, bytes: json.length, seconds: (performance.now() - started) / 1000 }));
    return;
  }
  const artifact = trainBtyd(events, { calibrationEnd, horizonDays });

  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(artifact, null, 2)}\n`);
  const seconds = (performance.now() - started) / 1000;
  const { bgnbd, gammaGamma, trainedOn } = artifact;
  const lines = [
    `model ${artifact.version} written to ${out}`,
    `  data        ${data} (${format}): ${report.events} events read, ${report.unreadableCount} rows unreadable`,
    `  calibration up to ${calibrationEnd}: ${trainedOn.customers} customers, ${trainedOn.events} events; horizon ${horizonDays} days`,
    `  BG/NBD      r=${fixed(bgnbd.r)} alpha=${fixed(bgnbd.alpha)} a=${fixed(bgnbd.a)} b=${fixed(bgnbd.b)}  log-likelihood ${bgnbd.logLikelihood.toFixed(2)}`,
    `  Gamma-Gamma p=${fixed(gammaGamma.p)} q=${fixed(gammaGamma.q)} gamma=${fixed(gammaGamma.gamma)}  log-likelihood ${gammaGamma.logLikelihood.toFixed(2)}`,
    `  ${seconds.toFixed(2)} s`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function hybridSummary(
  artifact: HybridArtifact,
  run: { out: string; data: string; format: string; read: number; unreadable: number; labelEnd: string; bytes: number; seconds: number },
): string {
  const { bgnbd, gammaGamma } = artifact.btyd;
  const lines = [
    `model ${artifact.version} (hybrid) written to ${run.out} (${(run.bytes / 1024).toFixed(0)} KB)`,
    `  data        ${run.data} (${run.format}): ${run.read} events read, ${run.unreadable} rows unreadable`,
    `  features as of ${artifact.calibrationEnd}, labels ${artifact.calibrationEnd} .. ${run.labelEnd} (horizon ${artifact.horizonDays} days): ${artifact.trainedOn.customers} customers, ${artifact.trainedOn.events} events`,
    `  churn       ${artifact.churn.trees.length} trees (logistic boosting) averaged with a logistic regression (weight ${artifact.churn.linearWeight})`,
    `  CLV         ${artifact.clv.trees.length} trees (Tweedie boosting over the BTYD CLV) averaged with a Tweedie regression (weight ${artifact.clv.linearWeight}), total scale ${fixed(artifact.clv.scale)}`,
    `  BG/NBD      r=${fixed(bgnbd.r)} alpha=${fixed(bgnbd.alpha)} a=${fixed(bgnbd.a)} b=${fixed(bgnbd.b)}  log-likelihood ${bgnbd.logLikelihood.toFixed(2)}`,
    `  Gamma-Gamma p=${fixed(gammaGamma.p)} q=${fixed(gammaGamma.q)} gamma=${fixed(gammaGamma.gamma)}  log-likelihood ${gammaGamma.logLikelihood.toFixed(2)}`,
    `  ${run.seconds.toFixed(2)} s`,
  ];
  return `${lines.join('\n')}\n`;
}

function modelKind(value: unknown): 'hybrid' | 'btyd' {
  if (value === 'hybrid' || value === 'btyd') return value;
  throw new Error(`--model must be hybrid or btyd, got ${JSON.stringify(value)}`);
}

function fixed(value: number): string {
  return value.toPrecision(4);
}

function horizonDaysOf(value: unknown): number {
  const text = String(value).trim();
  const days = Number(text);
  if (!/^\d+$/.test(text) || days < 1 || days > MAX_HORIZON_DAYS) {
    throw new Error(`--horizon-days must be a whole number of days from 1 to ${MAX_HORIZON_DAYS}, got "${text}"`);
  }
  return days;
}

function calibrationEndOf(value: unknown): string {
  const text = String(value).trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) throw new Error(`--calibration-end must be a date YYYY-MM-DD, got "${text}"`);
  // Date.parse rolls 2024-02-30 over to March; a real date survives the round trip.
  if (isoDayOrNull(text) !== text) throw new Error(`--calibration-end is not a calendar date: "${text}"`);
  return text;
}

function isoDayOrNull(text: string): string | null {
  try {
    return isoDay(parseIsoDay(text));
  } catch {
    return null;
  }
}

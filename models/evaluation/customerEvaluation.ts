import { buildPanel, type CustomerPanel, FOLDS } from '../clv/customerPanel.ts';
import { DEFAULT_HYBRID_TRAINING, fitBtydInputs, fitHybrid, hybridMatrix, type HybridTrainingOptions, hybridTrainingInputs } from '../clv/hybridTraining.ts';
import { HybridModel } from '../clv/hybridModel.ts';
import { btydOutputs, emptyBtydOutputs, hybridFeatureNames } from '../clv/hybridFeatures.ts';
import type { FeatureMatrix } from '../trees/featureMatrix.ts';
import {
  type ChurnMetrics,
  churnMetrics,
  type ClvMetrics,
  clvMetrics,
  reliabilityTable,
  type ReliabilityBin,
} from './metrics.ts';
import { eventCountry, type OrderEvent, type OrderLine } from '../customer/orderEvent.ts';
import type { CleanLine } from './retailCleaning.ts';
import { fitSegments } from '../segmentation/segmentation.ts';

/**
 * Churn and CLV quality on a calibration / holdout split (../shared/protocols/cdnow.md; the same
 * rules for any dataset): features from the streaming state record as of the calibration end,
 * targets from the holdout, 5-fold cross-fitting with fold = customer id mod 5 (a stable hash for
 * non-numeric ids), metrics on the pooled out-of-fold predictions. BG/NBD and Gamma-Gamma use no
 * labels and are fitted on all customers (the reported `btyd` parameters and baseline); the
 * hybrid model fits its own BTYD inside each training fold.
 */
export interface CustomerEvaluationOptions {
  calibrationEnd: string;
  holdoutEnd: string;
  training?: Partial<HybridTrainingOptions>;
  /** Called with the panel once built, before any fit (for `eval --export-folds`). */
  onPanel?: (panel: CustomerPanel) => void;
}

export interface FoldResult {
  fold: number;
  customers: number;
  fitSeconds: number;
  churn: ChurnMetrics;
  clv: ClvMetrics;
}

export interface MeanStd {
  mean: number;
  std: number;
}

export interface CustomerEvaluation {
  churn: ChurnMetrics;
  clv: ClvMetrics & { predictedTotal: number; actualTotal: number };
  btyd: { r: number; alpha: number; a: number; b: number; p: number; q: number; gamma: number };
  segmentation: { silhouette: number };
  /** Mean over the folds of the hybrid model's fit (BTYD + churn + CLV) on the training customers. */
  fitSeconds: number;
  customers: number;
  calibrationEnd: string;
  holdoutEnd: string;
  horizonDays: number;
  churnRate: number;
  reliability: ReliabilityBin[];
  folds: FoldResult[];
  foldSpread: { rocAuc: MeanStd; brier: MeanStd; spearman: MeanStd; mae: MeanStd; top10Share: MeanStd };
  /** BG/NBD P(no purchase) and BG/NBD × Gamma-Gamma CLV on the same customers, for comparison. */
  btydBaseline: { churn: ChurnMetrics; clv: ClvMetrics };
  /** Seconds spent building the panel (state records, features, labels) from the events. */
  panelSeconds: number;
  /** Out-of-fold predictions, in panel order. */
  predictions: { customerIds: string[]; churn: Float64Array; clv: Float64Array; churned: Float64Array; spend: Float64Array };
}

export function evaluateCustomers(events: readonly OrderEvent[], options: CustomerEvaluationOptions): CustomerEvaluation {
  const started = performance.now();
  const panel = buildPanel(events, { calibrationEnd: options.calibrationEnd, holdoutEnd: options.holdoutEnd });
  const panelSeconds = (performance.now() - started) / 1000;
  if (panel.customerIds.length < 2 * FOLDS) {
    throw new RangeError(`only ${panel.customerIds.length} customers bought on or before ${options.calibrationEnd}: too few to cross-fit`);
  }
  options.onPanel?.(panel);
  return evaluatePanel(panel, options.training, panelSeconds);
}

function evaluatePanel(panel: CustomerPanel, training: Partial<HybridTrainingOptions> = {}, panelSeconds = 0): CustomerEvaluation {
  const n = panel.customerIds.length;
  const churn = new Float64Array(n);
  const clv = new Float64Array(n);
  const folds: FoldResult[] = [];
  for (let k = 0; k < FOLDS; k++) {
    const { train: trainRows, test: testRows } = foldRows(panel, k);
    if (testRows.length === 0 || trainRows.length === 0) continue;
    const started = performance.now();
    const artifact = fitHybrid(
      {
        customerIds: trainRows.map((i) => panel.customerIds[i]),
        features: trainRows.map((i) => panel.features[i]),
        churn: Float64Array.from(trainRows, (i) => panel.churn[i]),
        spend: Float64Array.from(trainRows, (i) => panel.spend[i]),
      },
      { horizonDays: panel.horizonDays, calibrationEnd: panel.calibrationEnd, events: panel.calibrationEvents },
      training,
    );
    const fitSeconds = (performance.now() - started) / 1000;
    // Scored through the artifact as it would be deployed: serialised, validated, loaded.
    const model = HybridModel.load(JSON.parse(JSON.stringify(artifact)));
    for (const i of testRows) {
      const score = model.score(panel.features[i]);
      churn[i] = score.churnProbability;
      clv[i] = score.clv;
    }
    const pickRows = (values: Float64Array) => Float64Array.from(testRows, (i) => values[i]);
    folds.push({
      fold: k,
      customers: testRows.length,
      fitSeconds,
      churn: churnMetrics(pickRows(churn), pickRows(panel.churn)),
      clv: clvMetrics(pickRows(clv), pickRows(panel.spend), testRows.map((i) => panel.customerIds[i])),
    });
  }

  const btyd = fitBtydInputs(panel.features, panel.horizonDays);
  const btydChurn = new Float64Array(n);
  const btydClv = new Float64Array(n);
  const outputs = emptyBtydOutputs();
  panel.features.forEach((features, i) => {
    const b = btydOutputs(btyd.inputs, features, outputs);
    btydChurn[i] = b.pNoPurchase;
    btydClv[i] = b.expectedPurchases * b.expectedSpend;
  });

  const segments = fitSegments(
    panel.features.map((f, i) => ({ customerId: panel.customerIds[i], recencyDays: f.recencyDays, frequency: f.frequency, monetary: f.totalSpend })),
    { silhouetteSampleSize: n },
  );

  const clvPooled = clvMetrics(clv, panel.spend, panel.customerIds);
  let predictedTotal = 0;
  let actualTotal = 0;
  let churned = 0;
  for (let i = 0; i < n; i++) {
    predictedTotal += clv[i];
    actualTotal += panel.spend[i];
    churned += panel.churn[i];
  }
  const spread = (value: (fold: FoldResult) => number): MeanStd => meanStd(folds.map(value));
  const { bgnbd, gammaGamma } = btyd.artifact;
  return {
    churn: churnMetrics(churn, panel.churn),
    clv: { ...clvPooled, predictedTotal, actualTotal },
    btyd: { r: bgnbd.r, alpha: bgnbd.alpha, a: bgnbd.a, b: bgnbd.b, p: gammaGamma.p, q: gammaGamma.q, gamma: gammaGamma.gamma },
    segmentation: { silhouette: segments.silhouette.value },
    fitSeconds: folds.reduce((sum, fold) => sum + fold.fitSeconds, 0) / folds.length,
    customers: n,
    calibrationEnd: panel.calibrationEnd,
    holdoutEnd: panel.holdoutEnd,
    horizonDays: panel.horizonDays,
    churnRate: churned / n,
    reliability: reliabilityTable(churn, panel.churn, 10),
    folds,
    foldSpread: {
      rocAuc: spread((f) => f.churn.rocAuc),
      brier: spread((f) => f.churn.brier),
      spearman: spread((f) => f.clv.spearman),
      mae: spread((f) => f.clv.mae),
      top10Share: spread((f) => f.clv.top10Share),
    },
    btydBaseline: { churn: churnMetrics(btydChurn, panel.churn), clv: clvMetrics(btydClv, panel.spend, panel.customerIds) },
    panelSeconds,
    predictions: { customerIds: panel.customerIds, churn, clv, churned: panel.churn, spend: panel.spend },
  };
}

/**
 * One side of one cross-fitting fold exactly as the hybrid model's learners see it: the training
 * customers' matrix (BTYD fitted on them, their covariate vocabulary, their inner early-stopping
 * groups) or the test customers' matrix built with the same BTYD fit and vocabulary. For running
 * another learner on identical inputs (`eval --export-folds`).
 */
export interface FoldTable {
  fold: number;
  part: 'train' | 'test';
  customerIds: string[];
  /** Inner cross-fit group per training customer; null for test customers. */
  innerGroups: Uint8Array | null;
  churn: Float64Array;
  spend: Float64Array;
  columns: string[];
  matrix: FeatureMatrix;
}

export function foldTables(panel: CustomerPanel, training: Partial<HybridTrainingOptions> = {}): FoldTable[] {
  const options = { ...DEFAULT_HYBRID_TRAINING, ...training };
  const tables: FoldTable[] = [];
  for (let k = 0; k < FOLDS; k++) {
    const rows = foldRows(panel, k);
    if (rows.train.length === 0 || rows.test.length === 0) continue;
    const side = (part: 'train' | 'test') => ({
      fold: k,
      part,
      customerIds: rows[part].map((i) => panel.customerIds[i]),
      churn: Float64Array.from(rows[part], (i) => panel.churn[i]),
      spend: Float64Array.from(rows[part], (i) => panel.spend[i]),
    });
    const train = side('train');
    const inputs = hybridTrainingInputs({ customerIds: train.customerIds, features: rows.train.map((i) => panel.features[i]) }, panel.horizonDays, options);
    const columns = hybridFeatureNames(inputs.covariates);
    tables.push({ ...train, innerGroups: inputs.groups, columns, matrix: inputs.matrix });
    const testMatrix = hybridMatrix(rows.test.map((i) => panel.features[i]), inputs.btyd.inputs, inputs.covariates);
    tables.push({ ...side('test'), innerGroups: null, columns, matrix: testMatrix });
  }
  return tables;
}

/** Panel rows trained on and tested in fold k. */
function foldRows(panel: CustomerPanel, k: number): { train: number[]; test: number[] } {
  const rows = { train: [] as number[], test: [] as number[] };
  panel.folds.forEach((fold, i) => rows[fold === k ? 'test' : 'train'].push(i));
  return rows;
}

function meanStd(values: readonly number[]): MeanStd {
  const mean = values.reduce((sum, v) => sum + v, 0) / values.length;
  const variance = values.reduce((sum, v) => sum + (v - mean) ** 2, 0) / Math.max(1, values.length - 1);
  return { mean, std: Math.sqrt(variance) };
}

/** OrderEventSchema's limit on lines per event. */
const MAX_EVENT_LINES = 1000;

/**
 * The retail protocol's customer data (../shared/protocols/retail.md, section 4): the clean lines
 * that have a customer, one order per invoice and customer (at the invoice's earliest line time);
 * cancellations were already dropped by the cleaning rule, so there are no returns. Each order
 * carries the invoice's country (its first line's that fits OrderEvent's 1..64 characters; none
 * when empty), as the Online Retail reader's events do: the models' static covariate.
 */
export function ordersFromCleanLines(lines: readonly CleanLine[]): OrderEvent[] {
  const drafts = new Map<string, { invoice: string; customerId: string; timeMs: number; lines: OrderLine[]; country: string | undefined }>();
  for (const line of lines) {
    if (line.customerId === null) continue;
    const key = `${line.invoice}\u0000${line.customerId}`;
    let draft = drafts.get(key);
    if (!draft) drafts.set(key, (draft = { invoice: line.invoice, customerId: line.customerId, timeMs: line.timeMs, lines: [], country: undefined }));
    draft.country ??= eventCountry(line.country);
    draft.timeMs = Math.min(draft.timeMs, line.timeMs);
    draft.lines.push({ productId: line.productId, quantity: line.quantity, unitPrice: line.price });
  }
  const events: OrderEvent[] = [];
  for (const draft of drafts.values()) {
    const occurredAt = new Date(draft.timeMs).toISOString();
    for (let at = 0; at < draft.lines.length; at += MAX_EVENT_LINES) {
      const part = at / MAX_EVENT_LINES + 1;
      const event: OrderEvent = {
        type: 'order',
        orderId: part === 1 ? draft.invoice : `${draft.invoice}/${part}`,
        customerId: draft.customerId,
        occurredAt,
        lines: draft.lines.slice(at, at + MAX_EVENT_LINES),
      };
      if (draft.country !== undefined) event.country = draft.country;
      events.push(event);
    }
  }
  return events.sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt));
}

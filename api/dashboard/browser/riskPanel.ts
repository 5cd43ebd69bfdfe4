import * as Plot from '@observablehq/plot';
import { API, type AtRiskResponse, describeFailure, getJson } from './apiClient.ts';
import { type FeedEntry, type FeedMode, followAlerts } from './alertStream.ts';
import { dateTime, LatestOnly, money, numberCell, Panel, percent } from './panel.ts';

const LIMIT = 25;
const REFRESH_MS = 10_000;
const AFTER_ALERT_MS = 1_500;
const KEEP_ALERTS = 5_000;

type ApiRow = AtRiskResponse['customers'][number];
interface Row {
  customerId: string;
  churn: number;
  clv: number;
  loss: number;
  asOf: string;
  /** The row's numbers come from the API, or from a live alert newer than the API's answer. */
  from: 'api' | 'alert';
  live: boolean;
}

const FEED_WORDS: Record<FeedMode, string> = {
  connecting: 'Live alerts: connecting…',
  live: 'Live alerts: connected (server-sent events).',
  polling: 'Live alerts: polling every 3 s (event stream unavailable).',
  off: 'No live alert feed on this server (it runs with `npm start`); the list refreshes every 10 s.',
};

/**
 * Customers at risk by churn probability × CLV, kept live: every alert of the feed updates its
 * customer's row at once (at risk: shown with the alert's scores; recovered: removed), and the
 * API's listing, re-read shortly after and every few seconds, takes over once it is as new as the
 * alert. Beside it, the alerts of the feed over event time.
 */
export function riskPanel(onCustomer: (customerId: string) => void): { ready: Promise<AtRiskResponse | undefined> } {
  const panel = new Panel('risk');
  const latest = new LatestOnly();
  const alerts: FeedEntry[] = [];
  const lastAlert = new Map<string, FeedEntry>();
  let answer: AtRiskResponse | undefined;
  let refreshTimer: number | undefined;
  let drawPending = false;

  const render = () => {
    drawPending = false;
    if (answer) showTable(panel, mergeRows(answer.customers, lastAlert), onCustomer);
    showAlertChart(panel, alerts);
  };
  const scheduleRender = () => {
    if (drawPending) return;
    drawPending = true;
    requestAnimationFrame(render);
  };

  const load = () =>
    latest.run(
      () => getJson<AtRiskResponse>(`${API}/at-risk-customers`, { limit: LIMIT }),
      (fresh) => {
        answer = fresh;
        panel.meta(`Scores as of ${dateTime(fresh.as_of)} · model ${fresh.model_version} · churn over ${fresh.horizon_days} days ≥ ${fresh.threshold}`);
        const shown = fresh.customers.length;
        if (shown === 0 && lastAlert.size === 0) panel.set('empty', `No customer is at risk (churn probability ≥ ${fresh.threshold}) as of ${dateTime(fresh.as_of)}.`);
        else panel.set('ready', `The ${shown.toLocaleString('en-GB')} customers at risk with most at stake${fresh.next_cursor === null ? '' : ' (more follow)'}.`);
        render();
      },
      (error) => {
        if (!answer) panel.set('error', describeFailure(error, 'the customers at risk'));
      },
    );
  const refreshSoon = (ms: number) => {
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(() => void load().finally(() => refreshSoon(REFRESH_MS)), ms);
  };

  followAlerts(
    (entries) => {
      for (const entry of entries) {
        alerts.push(entry);
        lastAlert.set(entry.detail.customerId, entry);
      }
      if (alerts.length > KEEP_ALERTS) alerts.splice(0, alerts.length - KEEP_ALERTS);
      panel.root.dataset.alerts = String(alerts.length);
      scheduleRender();
      refreshSoon(AFTER_ALERT_MS);
    },
    (mode) => {
      panel.part('feed').textContent = FEED_WORDS[mode];
      panel.root.dataset.feed = mode;
    },
  );
  const ready = load().then(() => answer);
  refreshSoon(REFRESH_MS);
  return { ready };
}

/** The API's rows, overridden by any alert newer than the API's score of that customer. */
function mergeRows(apiRows: readonly ApiRow[], lastAlert: ReadonlyMap<string, FeedEntry>): Row[] {
  const rows = new Map<string, Row>(
    apiRows.map((row) => [row.customer_id, { customerId: row.customer_id, churn: row.churn_probability, clv: row.clv, loss: row.expected_loss, asOf: row.as_of, from: 'api' as const, live: false }]),
  );
  for (const [customerId, entry] of lastAlert) {
    const row = rows.get(customerId);
    const apiIsNewer = row !== undefined && Date.parse(row.asOf) >= Date.parse(entry.detail.asOf);
    if (apiIsNewer) {
      row.live = entry.detailType === 'Customer At Risk';
      continue;
    }
    if (entry.detailType === 'Customer Recovered') {
      rows.delete(customerId);
      continue;
    }
    const { churnProbability: churn, clv, asOf } = entry.detail;
    rows.set(customerId, { customerId, churn, clv, loss: churn * clv, asOf, from: 'alert', live: true });
  }
  // The latest LIMIT alerted customers always show (a long replay alerts thousands); the others fill up to the limit.
  const recent = new Set([...lastAlert.values()].sort((a, b) => b.seq - a.seq).slice(0, LIMIT).map((entry) => entry.detail.customerId));
  const sorted = [...rows.values()].sort((a, b) => b.loss - a.loss || (a.customerId < b.customerId ? -1 : 1));
  let others = 0;
  return sorted.filter((row) => {
    row.live &&= recent.has(row.customerId);
    return row.live || ++others <= LIMIT;
  });
}

function showTable(panel: Panel, rows: readonly Row[], onCustomer: (customerId: string) => void): void {
  const body = panel.root.querySelector('tbody')!;
  body.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset.customer = row.customerId;
      tr.dataset.from = row.from;
      tr.dataset.live = String(row.live);
      const idCell = document.createElement('td');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = row.customerId;
      button.setAttribute('aria-label', `Show customer ${row.customerId}`);
      button.addEventListener('click', () => onCustomer(row.customerId));
      idCell.append(button);
      const scored = document.createElement('td');
      scored.textContent = `${row.asOf.slice(0, 10)}${row.from === 'alert' ? ' (alert)' : ''}`;
      tr.append(idCell, numberCell(row.churn, percent), numberCell(row.clv, money), numberCell(row.loss, money), scored);
      return tr;
    }),
  );
}

function showAlertChart(panel: Panel, alerts: readonly FeedEntry[]): void {
  const target = panel.part('chart');
  if (alerts.length === 0) {
    const note = document.createElement('p');
    note.className = 'meta';
    note.textContent = 'No alerts yet: at-risk and recovered alerts appear here over event time as the scorer announces them.';
    target.replaceChildren(note);
    return;
  }
  const points = alerts
    .filter((entry) => entry.detailType !== 'Customer Not Returning')
    .map((entry) => ({ type: entry.detailType === 'Customer At Risk' ? 'At risk' : 'Recovered', time: new Date(entry.detail.asOf) }));
  let first = Infinity;
  let last = -Infinity;
  for (const point of points) {
    first = Math.min(first, point.time.getTime());
    last = Math.max(last, point.time.getTime());
  }
  const interval = last - first > 120 * 86_400_000 ? 'week' : 'day';
  // At least two weeks wide, so a first alert is a bar of a day, not the whole chart.
  const domain = [new Date(Math.min(first, last - 14 * 86_400_000)), new Date(last + 86_400_000)];
  target.replaceChildren(
    Plot.plot({
      width: panel.chartWidth(),
      height: 180,
      x: { type: 'utc', label: `Event time (alerts per ${interval})`, domain },
      y: { label: '↑ Alerts', grid: true },
      color: { legend: true, domain: ['At risk', 'Recovered'], range: ['#c2410c', '#15803d'] },
      marks: [Plot.rectY(points, Plot.binX<Plot.RectYOptions>({ y: 'count' }, { x: 'time', fill: 'type', interval })), Plot.ruleY([0])],
    }),
  );
}

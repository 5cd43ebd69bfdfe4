import * as Plot from '@observablehq/plot';
import { API, describeFailure, getJson, type SegmentMembersResponse } from './apiClient.ts';
import { waitForLake } from './lakeReadiness.ts';
import { count, decimal1, LatestOnly, money, numberCell, Panel, textCell } from './panel.ts';

const K_MIN = 2;
const K_MAX = 12;
const MEMBERS = 2000;

/** Customers by recency and monetary value (log scales) coloured by segment, and the segments' sizes and means. */
export function segmentsPanel(initialK = 5): { ready: Promise<void> } {
  const panel = new Panel('segments');
  const select = document.getElementById('clusters') as HTMLSelectElement;
  for (let k = K_MIN; k <= K_MAX; k++) select.add(new Option(String(k), String(k), k === initialK, k === initialK));
  const latest = new LatestOnly();

  const load = (k: number): Promise<void> => {
    panel.set('loading', `Loading ${k} segments…`);
    return latest.run(
      () => getJson<SegmentMembersResponse>(`${API}/segment-members`, { n_clusters: k, limit: MEMBERS }),
      (answer) => show(panel, answer),
      (error) => waitForLake(panel, error, 'the segments are', () => void load(Number(select.value))) || panel.set('error', describeFailure(error, 'the segments')),
    );
  };
  select.addEventListener('change', () => void load(Number(select.value)));
  return { ready: load(initialK) };
}

function show(panel: Panel, answer: SegmentMembersResponse): void {
  panel.meta(`RFM as of ${answer.as_of} · CLV as of ${answer.scores_as_of.slice(0, 10)} · model ${answer.model_version}`);
  if (answer.customers === 0) return panel.set('empty', 'No customers in the lake yet: nothing to segment.');
  panel.root.dataset.clusters = String(answer.n_clusters);
  const names = new Map(answer.segments.map((segment) => [segment.segment, segment.name]));
  // Log scales need positive values: recency is shown as days + 1, customers with no net spend are left out of the picture.
  const points = answer.members.filter((member) => member.monetary > 0).map((member) => ({ ...member, name: names.get(member.segment) ?? String(member.segment), recency: member.recency_days + 1 }));
  const chart = Plot.plot({
    width: panel.chartWidth(),
    height: 300,
    marginLeft: 56,
    x: { type: 'log', label: 'Recency (days since last order + 1) →', grid: true },
    y: { type: 'log', label: '↑ Monetary value', grid: true },
    color: { legend: true, domain: answer.segments.map((segment) => segment.name) },
    marks: [Plot.dot(points, { x: 'recency', y: 'monetary', fill: 'name', r: 2.5, fillOpacity: 0.6, title: (d: (typeof points)[number]) => `${d.customer_id}: ${d.name}` })],
  });
  panel.part('chart').replaceChildren(chart);
  const rows = answer.segments.map((segment) => {
    const row = document.createElement('tr');
    row.dataset.segment = String(segment.segment);
    row.append(
      textCell(segment.name),
      numberCell(segment.size, count),
      numberCell(segment.means.recency_days, decimal1),
      numberCell(segment.means.frequency, decimal1),
      numberCell(segment.means.monetary, money),
      numberCell(segment.means.clv, money),
    );
    return row;
  });
  panel.root.querySelector('tbody')!.replaceChildren(...rows);
  const shown = answer.sampled ? `${count(answer.members.length)} of ${count(answer.customers)} customers shown (an even sample)` : `${count(answer.customers)} customers`;
  panel.set('ready', `${answer.n_clusters} segments of ${shown}.`);
}

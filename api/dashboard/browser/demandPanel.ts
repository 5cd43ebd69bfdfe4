import * as Plot from '@observablehq/plot';
import { API, describeFailure, type ForecastResponse, postJson, type ProductsResponse } from './apiClient.ts';
import { waitForLake } from './lakeReadiness.ts';
import { count, LatestOnly, Panel, percent } from './panel.ts';

const FORECAST_DAYS = 30;
const HISTORY_DAYS = 120;

/** History and forecast, with the 80% interval band, of a product, a category or the whole store. */
export function demandPanel(products: () => Promise<ProductsResponse | null>): { ready: Promise<void> } {
  const panel = new Panel('demand');
  const select = document.getElementById('demand-scope') as HTMLSelectElement;
  const latest = new LatestOnly();

  const load = () => {
    const [kind, ...rest] = select.value.split(':');
    const id = rest.join(':');
    const body = kind === 'p' ? { product_id: id } : kind === 'c' ? { category_id: id } : {};
    const what = kind === 'p' ? `product ${id}` : kind === 'c' ? `category ${id}` : 'the whole store';
    panel.set('loading', `Loading the forecast of ${what}…`);
    return latest.run(
      () => postJson<ForecastResponse>(`${API}/forecast`, { ...body, forecast_days: FORECAST_DAYS, history_days: HISTORY_DAYS }),
      (answer) => show(panel, answer, what),
      (error) => waitForLake(panel, error, 'the forecast is', () => void start()) || panel.set('error', describeFailure(error, `the forecast of ${what}`)),
    );
  };
  select.addEventListener('change', () => void load());
  let filled = false;
  // The scopes come from the product catalog, which waits for the lake like the forecast does.
  const start = (): Promise<void> =>
    products().then(
      (catalog) => {
        if (catalog && !filled) fillScopes(select, catalog);
        filled ||= catalog !== null;
        return load();
      },
      (error: unknown) => void waitForLake(panel, error, 'the forecast is', () => void start()),
    );
  return { ready: start() };
}

function fillScopes(select: HTMLSelectElement, catalog: ProductsResponse): void {
  if (catalog.categories.length > 0) {
    const group = document.createElement('optgroup');
    group.label = 'Categories';
    for (const category of catalog.categories) group.append(new Option(`Category ${category.category_id}`, `c:${category.category_id}`));
    select.append(group);
  }
  const group = document.createElement('optgroup');
  group.label = 'Best-selling products';
  for (const product of catalog.products) group.append(new Option(`Product ${product.product_id}`, `p:${product.product_id}`));
  select.append(group);
}

function show(panel: Panel, answer: ForecastResponse, what: string): void {
  const backtest = answer.backtest_coverage === null ? 'not backtested' : `${percent(answer.backtest_coverage)} in backtests`;
  panel.meta(`History ${answer.history_start} to ${answer.history_end} · model ${answer.method} · ${percent(answer.interval_coverage)} interval, ${backtest}`);
  const history = (answer.history ?? []).map((point) => ({ date: new Date(point.date), units: point.units }));
  const forecast = answer.points.map((point) => ({ ...point, date: new Date(point.date) }));
  if (history.every((point) => point.units === 0) && answer.expected_total === 0) {
    return panel.set('empty', `No sales of ${what} in the last ${HISTORY_DAYS} days and none expected: nothing to draw.`);
  }
  panel.root.dataset.scope = JSON.stringify(answer.scope);
  panel.part('chart').replaceChildren(
    Plot.plot({
      width: panel.chartWidth(),
      height: 260,
      marginLeft: 50,
      x: { type: 'utc', label: 'Day' },
      y: { label: '↑ Units per day', grid: true },
      color: { legend: true, domain: ['history', 'forecast', '80% interval'], range: ['#57606a', '#0550ae', '#9ec5fe'] },
      marks: [
        Plot.areaY(forecast, { x: 'date', y1: 'lower', y2: 'upper', fill: '#9ec5fe', fillOpacity: 0.6 }),
        Plot.lineY(history, { x: 'date', y: 'units', stroke: '#57606a', strokeWidth: 1 }),
        Plot.lineY(forecast, { x: 'date', y: 'forecast', stroke: '#0550ae', strokeWidth: 2 }),
        Plot.ruleY([0]),
      ],
    }),
  );
  panel.set('ready', `${what}: ${count(answer.expected_total)} units expected over the next ${answer.forecast_days} days.`);
}

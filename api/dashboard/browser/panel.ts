/** A panel of the page: its element, its parts by data-role, and its state (loading, empty, error, ready). */
export type PanelState = 'loading' | 'empty' | 'error' | 'ready';

export class Panel {
  readonly root: HTMLElement;

  constructor(id: string) {
    const root = document.getElementById(id);
    if (!root) throw new Error(`the page has no #${id}`);
    this.root = root;
  }

  part<T extends HTMLElement = HTMLElement>(role: string): T {
    const element = this.root.querySelector<T>(`[data-role="${role}"]`);
    if (!element) throw new Error(`#${this.root.id} has no ${role}`);
    return element;
  }

  /** Sets the state and says it in plain words; charts and tables are cleared unless ready. */
  set(state: PanelState, message: string): void {
    this.root.dataset.state = state;
    this.part('status').textContent = message;
    if (state === 'error' || state === 'empty') {
      for (const role of ['chart', 'chart2']) this.root.querySelector(`[data-role="${role}"]`)?.replaceChildren();
      this.root.querySelector('tbody')?.replaceChildren();
      this.root.querySelector('[data-role="figures"]')?.replaceChildren();
    }
  }

  meta(text: string): void {
    this.part('meta').textContent = text;
  }

  /** The width a chart of this panel can take. */
  chartWidth(role = 'chart'): number {
    return Math.max(240, Math.floor(this.part(role).clientWidth || 320));
  }
}

/** A table cell holding a number: shown formatted, the exact value kept in data-value. */
export function numberCell(value: number | null, format: (value: number) => string): HTMLTableCellElement {
  const cell = document.createElement('td');
  if (value === null) {
    cell.textContent = '–';
  } else {
    cell.textContent = format(value);
    cell.dataset.value = String(value);
  }
  return cell;
}

export function textCell(text: string): HTMLTableCellElement {
  const cell = document.createElement('td');
  cell.textContent = text;
  return cell;
}

/** A definition list entry of a panel's key figures, the exact value in data-value. */
export function figure(name: string, key: string, value: number, format: (value: number) => string): HTMLDivElement {
  const item = document.createElement('div');
  const term = document.createElement('dt');
  term.textContent = name;
  const detail = document.createElement('dd');
  detail.textContent = format(value);
  detail.dataset.key = key;
  detail.dataset.value = String(value);
  item.append(term, detail);
  return item;
}

export const money = (value: number) => value.toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
export const decimal1 = (value: number) => value.toLocaleString('en-GB', { maximumFractionDigits: 1 });
export const percent = (value: number) => `${(value * 100).toFixed(1)}%`;
export const count = (value: number) => value.toLocaleString('en-GB', { maximumFractionDigits: 0 });
export const dateTime = (iso: string) => iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');

/**
 * Runs loads one after another per panel, dropping a result that a newer request has overtaken
 * (a user changing the clusters twice must not see the first answer last).
 */
export class LatestOnly {
  private generation = 0;

  async run<T>(load: () => Promise<T>, show: (value: T) => void, fail: (error: unknown) => void): Promise<void> {
    const mine = ++this.generation;
    try {
      const value = await load();
      if (mine === this.generation) show(value);
    } catch (error) {
      if (mine === this.generation) fail(error);
    }
  }
}

/** The API's answers as the page reads them; types only, from the same zod schemas the API validates with. */
export type {
  AtRiskResponse,
  ChurnResponse,
  ClvResponse,
  CustomerOrdersResponse,
  ForecastResponse,
  PriceOptimizationResponse,
  ProductsResponse,
  SegmentMembersResponse,
} from '../../schemas.ts';

export const API = '/demand-insights';

/** A request the API refused or could not answer, with its message in plain words. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** From a 503's Retry-After header: when asking again makes sense. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

/** Retry-After in seconds (the API sends seconds, never an HTTP date); null when absent or not a number. */
function retryAfter(response: Response): number | null {
  const seconds = Number(response.headers.get('retry-after'));
  return response.headers.has('retry-after') && Number.isFinite(seconds) && seconds >= 0 ? seconds : null;
}

async function answer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new ApiFailure(response.status, 'not_json', `the server answered ${response.status} without JSON`);
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiFailure(response.status, error?.code ?? 'http_error', error?.message ?? `the server answered ${response.status}`, retryAfter(response));
  }
  return body as T;
}

export async function getJson<T>(path: string, query: Record<string, string | number> = {}): Promise<T> {
  const params = new URLSearchParams(Object.entries(query).map(([key, value]) => [key, String(value)]));
  const search = params.toString();
  return answer<T>(await fetch(`${path}${search ? `?${search}` : ''}`, { headers: { accept: 'application/json' } }));
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  return answer<T>(await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body) }));
}

/** What went wrong, for a panel's status line. */
export function describeFailure(error: unknown, what: string): string {
  if (error instanceof ApiFailure) return `Could not load ${what}: ${error.message}.`;
  if (error instanceof TypeError) return `Could not load ${what}: the server did not answer (is it still running?).`;
  return `Could not load ${what}: ${(error as Error).message}.`;
}

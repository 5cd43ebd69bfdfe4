import { BtydModel } from './btydModel.ts';
import type { CustomerModel } from './customerModel.ts';
import { HybridModel } from './hybridModel.ts';

/** Restores a model from its artifact JSON, whatever kind it is; the artifact says which. */
export function loadModel(json: unknown): CustomerModel {
  const kind = typeof json === 'object' && json !== null ? (json as { kind?: unknown }).kind : undefined;
  switch (kind) {
    case 'btyd':
      return BtydModel.load(json);
    case 'hybrid':
      return HybridModel.load(json);
    default:
      throw new Error(`unknown model artifact kind: ${JSON.stringify(kind)} (expected "hybrid" or "btyd")`);
  }
}

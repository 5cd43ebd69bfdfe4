import { currentVersion, rollbackModel } from '../../aws/modelPublication.ts';
import { modelStoreFor } from '../../aws/modelStore.ts';
import { loadModel } from '../../models/clv/modelArtifact.ts';
import { requiredText } from './datasetOptions.ts';

/**
 * `demand-insights model list|rollback --store s3://bucket/prefix`: the versions a model store
 * holds, and a rollback, which points `current.json` at an older version after checking that it
 * loads (containers take it at their next look, within MODEL_REFRESH_SECONDS).
 */
export async function run(options: Record<string, unknown>, action?: string): Promise<void> {
  const uri = requiredText(options.store, '--store');
  const store = modelStoreFor(uri, { endpoint: typeof options.s3Endpoint === 'string' ? options.s3Endpoint : undefined });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (action === 'list') {
    const current = await currentVersion(store);
    for (const version of await store.listVersions()) say(`${version === current ? '*' : ' '} ${version}`);
    return;
  }
  if (action === 'rollback') {
    const to = requiredText(options.to, '--to');
    const pointer = await rollbackModel(store, to, (json) => {
      const model = loadModel(json);
      if (model.version !== to) throw new Error(`the artifact stored as ${to} is model ${model.version}`);
      return model;
    });
    say(`${store.uri}/models/current.json -> ${pointer.version} (was ${pointer.previous ?? 'nothing'})`);
    return;
  }
  throw new Error(`model: expected list or rollback, got ${JSON.stringify(action)}`);
}

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Opens a dataset file as a byte stream, gunzipping it when it starts with the gzip magic
 * bytes: the name is not trusted, so a renamed `.csv` that is really gzip still reads.
 */
export async function openDataset(path: string): Promise<Readable> {
  const handle = await open(path, 'r');
  const head = Buffer.alloc(GZIP_MAGIC.length);
  try {
    await handle.read(head, 0, head.length, 0);
  } finally {
    await handle.close();
  }
  const raw = createReadStream(path);
  if (!head.equals(Buffer.from(GZIP_MAGIC))) return raw;
  const gunzip = createGunzip();
  raw.on('error', (error) => gunzip.destroy(error));
  return raw.pipe(gunzip);
}

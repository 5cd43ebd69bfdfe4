import { fileURLToPath } from 'node:url';

/**
 * The shared third-party data sets. They sit in `shared/` beside the repository (a checkout, or
 * CI's clone with its copy of shared/), so paths are resolved from this file, never absolute.
 */
const dataFile = (relative: string) => fileURLToPath(new URL(`../../../shared/data/${relative}`, import.meta.url));

export const ONLINE_RETAIL_II = dataFile('online_retail_ii_2009_2010/online_retail_ii_2009_2010.csv.gz');
export const CDNOW_MASTER = dataFile('cdnow/CDNOW_master.txt');
export const CDNOW_SAMPLE = dataFile('cdnow/CDNOW_sample.txt');

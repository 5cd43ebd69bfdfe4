#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so `npx demand-insights`
// works straight after `npm install`, with no build step to forget.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./cli.ts');
await main(process.argv);

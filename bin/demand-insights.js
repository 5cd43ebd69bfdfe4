#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on the fly so `npx demand-insights`
// works straight after `npm install`, with no build step to forget.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every start that its 2027 releases will need Node 22. Lambda runs
// nodejs22.x already; on a Node 20 laptop the notice is noise in every command's output.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  if (String(warning).startsWith('NodeVersionSupportWarning')) return;
  emitWarning(warning, ...rest);
};

register();
const { main } = await import('./cli.ts');
await main(process.argv);

#!/usr/bin/env node
// openclaw-ipc command line; the commands are in ipc-commands.ts.
import { ipcCommands } from './ipc-commands.js';
import { runCli } from './run.js';

// Not a top-level await: scripts/bundle.ts builds this entry as CommonJS (run with a V8 code cache).
void runCli('openclaw-ipc', ipcCommands, process.argv.slice(2));

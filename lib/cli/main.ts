#!/usr/bin/env node
// openclaw-ipc command line; the commands are in ipc-commands.ts.
import { ipcCommands } from './ipc-commands.js';
import { runCli } from './run.js';

await runCli('openclaw-ipc', ipcCommands, process.argv.slice(2));

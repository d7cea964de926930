#!/usr/bin/env node
// openclaw-mac: TCC permissions, code identity, peer credentials, and the operator checks (connect,
// discover, doctor). The commands live in mac-commands.ts.
import { macCommands } from './mac-commands.js';
import { runCli } from './run.js';

await runCli('openclaw-mac', macCommands, process.argv.slice(2));

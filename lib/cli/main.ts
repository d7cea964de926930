#!/usr/bin/env node
// openclaw-ipc command line. Each subcommand lives in its own module under lib/cli/commands/
// and is imported only when it runs, so `openclaw-ipc --help` stays fast.
import { runCli, type CommandTable } from './run.js';

const commands: CommandTable = {
  up: {
    summary: 'run the local stack: Gateway, exec host, bridge host, and a node joined to it',
    load: () => import('./commands/up.js'),
  },
  app: { summary: 'run the exec host (the app role) in the foreground', load: () => import('./commands/app.js') },
  exec: {
    summary: 'send one signed exec to the app: openclaw-ipc exec -- <argv>',
    load: () => import('./commands/exec.js'),
  },
  approvals: {
    summary: 'show and edit the exec-approvals policy; pending | approve <id> | deny <id>',
    load: () => import('./commands/approvals.js'),
  },
  gateway: { summary: 'run the Gateway in the foreground', load: () => import('./commands/gateway.js') },
  open: {
    summary: 'open the control page in a browser, signed in (the secret goes in the URL fragment)',
    load: () => import('./commands/open.js'),
  },
  node: {
    summary: 'node host: openclaw-ipc node run [--host] [--port] [--token]',
    load: () => import('./commands/node.js'),
  },
  nodes: { summary: 'list nodes known to the Gateway', load: () => import('./commands/nodes.js') },
  devices: {
    summary: 'device pairing: devices [list] | approve <requestId> | reject <requestId>',
    load: () => import('./commands/devices.js'),
  },
  invoke: {
    summary: 'invoke a node command: --node <id|name> --command <cmd> --params <json>',
    load: () => import('./commands/invoke.js'),
  },
  run: {
    summary: 'run a command on a node: openclaw-ipc run --node <id|name> -- <argv>',
    load: () => import('./commands/run.js'),
  },
  bridge: {
    summary: 'PeekabooBridge: bridge [host|status|call <op> [--payload JSON]] [--json]',
    load: () => import('./commands/bridge.js'),
  },
};

await runCli('openclaw-ipc', commands, process.argv.slice(2));

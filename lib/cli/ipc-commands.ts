// openclaw-ipc's command table (the bin is lib/cli/main.ts; tests run this table in-process). Each
// subcommand lives in its own module under lib/cli/commands/ and is imported only when it runs, so
// `openclaw-ipc --help` stays fast.
import type { CommandTable } from './run.js';

export const ipcCommands: CommandTable = {
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
  status: {
    summary: 'what runs for this state dir: Gateway, exec host, bridge, nodes (pids, sockets, uptime)',
    load: () => import('./commands/status.js'),
  },
  logs: {
    summary: "the service's log files: logs [--role R] [-n LINES] [-f]",
    load: () => import('./commands/logs.js'),
  },
  doctor: {
    summary: 'check the state dir, files, sockets, locks, Gateway and service; one fix per problem',
    load: () => import('./commands/doctor.js'),
  },
  stop: {
    summary: 'stop what runs for this state dir (by lock file and pid): stop [--timeout MS]',
    load: () => import('./commands/stop.js'),
  },
  service: {
    summary:
      'run a role as a LaunchAgent / systemd user unit: service install|uninstall|status|restart [--role up|gateway|node|app]',
    load: () => import('./commands/service.js'),
  },
};

/** One copyable line per command, shown under "examples:" in the help. */
const EXAMPLES: Record<string, string> = {
  up: 'up --port 18789',
  app: 'app --no-prompt',
  exec: 'exec -- /bin/echo hi',
  approvals: 'approvals allowlist add /usr/bin/git',
  gateway: 'gateway run --bind lan --auth token',
  open: 'open --print',
  node: 'node run --host 127.0.0.1 --port 18789',
  nodes: 'nodes status --json',
  devices: 'devices approve 4f1c2a…',
  invoke: `invoke --node mybox --command system.which --params '{"bins":["git"]}'`,
  run: 'run --node mybox -- /bin/echo hi',
  bridge: 'bridge call permissionsStatus --json',
  status: 'status --json',
  logs: 'logs --role gateway -f',
  doctor: 'doctor --json',
  stop: 'stop --timeout 5000',
  service: 'service install --role gateway',
};
for (const [name, example] of Object.entries(EXAMPLES)) if (ipcCommands[name]) ipcCommands[name].example = example;

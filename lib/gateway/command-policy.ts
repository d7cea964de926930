// Which node commands the gateway lets through (spec §10.5): platform defaults plus configured
// extras, minus denials, intersected with what the node declared and what its pairing approved.

export type NodePlatform = 'macos' | 'ios' | 'android' | 'windows' | 'linux' | 'unknown';

const DESKTOP_DEFAULTS = ['system.run.prepare', 'system.run', 'system.which', 'system.notify', 'browser.proxy'];
/** Plugin commands 2026.9.6 approved for a Linux node host (its file/workspace commands stayed withheld). */
const V4_PLUGIN_DEFAULTS = [
  'browser.proxy.upload.v1',
  'desktop.stream',
  'fs.listDir',
  'mcp.tools.call.v1',
  'ollama.chat',
  'ollama.models',
  'terminal.upload',
];
const MACOS_EXTRAS = [
  'canvas.present',
  'canvas.hide',
  'canvas.navigate',
  'canvas.eval',
  'canvas.snapshot',
  'canvas.a2ui.push',
  'canvas.a2ui.pushJSONL',
  'canvas.a2ui.reset',
  'camera.list',
  'location.get',
  'device.info',
  'device.status',
  'contacts.search',
  'calendar.events',
  'reminders.list',
  'photos.latest',
  'motion.activity',
  'motion.pedometer',
];
const MOBILE_DEFAULTS = [
  'canvas.present',
  'canvas.hide',
  'canvas.navigate',
  'canvas.eval',
  'canvas.snapshot',
  'camera.list',
  'location.get',
  'device.info',
  'device.status',
  'system.notify',
];
/** Reachable only through exec.approvals.node.get|set, never through node.invoke. */
export const EXEC_APPROVALS_NODE_COMMANDS = ['system.execApprovals.get', 'system.execApprovals.set'];

const PLATFORM_DEFAULTS: Record<NodePlatform, readonly string[]> = {
  macos: [...DESKTOP_DEFAULTS, ...V4_PLUGIN_DEFAULTS, ...MACOS_EXTRAS],
  linux: [...DESKTOP_DEFAULTS, ...V4_PLUGIN_DEFAULTS],
  windows: [...DESKTOP_DEFAULTS, ...V4_PLUGIN_DEFAULTS],
  ios: MOBILE_DEFAULTS,
  android: MOBILE_DEFAULTS,
  unknown: [],
};

/** Normalised platform: prefix of `client.platform`, else tokens of `deviceFamily`, else unknown. */
export function detectPlatform(platform?: string, deviceFamily?: string): NodePlatform {
  const p = (platform ?? '').trim().toLowerCase();
  if (p.startsWith('ios') || p.startsWith('ipados')) return 'ios';
  if (p.startsWith('android')) return 'android';
  if (p.startsWith('mac') || p.startsWith('darwin')) return 'macos';
  if (p.startsWith('win')) return 'windows';
  if (p.startsWith('linux')) return 'linux';
  const family = (deviceFamily ?? '').toLowerCase();
  if (/\b(iphone|ipad|ios)\b/.test(family)) return 'ios';
  if (/\bandroid\b/.test(family)) return 'android';
  if (/\bmac\b/.test(family)) return 'macos';
  if (/\bwindows\b/.test(family)) return 'windows';
  if (/\blinux\b/.test(family)) return 'linux';
  return 'unknown';
}

export interface CommandPolicyOptions {
  /** `gateway.nodes.allowCommands`: added to every platform's defaults (opt-in for dangerous ones). */
  allowCommands?: readonly string[];
  /** `gateway.nodes.denyCommands`: removed last. */
  denyCommands?: readonly string[];
}

export class CommandPolicy {
  private readonly allow: ReadonlySet<string>;
  private readonly deny: ReadonlySet<string>;

  constructor(options: CommandPolicyOptions = {}) {
    this.allow = new Set(options.allowCommands ?? []);
    this.deny = new Set(options.denyCommands ?? []);
  }

  /** Whether the platform (plus configuration) allows `command` at all. */
  platformAllows(platform: NodePlatform, command: string): boolean {
    if (this.deny.has(command)) return false;
    return PLATFORM_DEFAULTS[platform].includes(command) || this.allow.has(command);
  }

  /** The command surface a node pairing approves: declared ∩ allowed, plus the approvals get/set pair. */
  approvableCommands(platform: NodePlatform, declared: readonly string[]): string[] {
    return [...new Set(declared)]
      .filter((command) => EXEC_APPROVALS_NODE_COMMANDS.includes(command) || this.platformAllows(platform, command))
      .sort();
  }

  /** Declared commands a pairing would withhold. */
  withheldCommands(platform: NodePlatform, declared: readonly string[]): string[] {
    const approvable = new Set(this.approvableCommands(platform, declared));
    return [...new Set(declared)].filter((command) => !approvable.has(command)).sort();
  }
}

// TCC (macOS privacy) permissions with one status vocabulary. Linux answers 'not-applicable' from the
// native layer (native/linux/tcc.cc), through the same path macOS uses.
import { getBinding, type NativeCallback, type RawTccResult } from './binding.js';

export const PERMISSION_NAMES = [
  'notifications',
  'screenRecording',
  'microphone',
  'camera',
  'speechRecognition',
  'appleScript',
  'accessibility',
] as const;
export type PermissionName = (typeof PERMISSION_NAMES)[number];

/** Index = OC_TCC_* in native/platform.h. */
const STATUSES = ['granted', 'denied', 'not-determined', 'restricted', 'unknown', 'not-applicable'] as const;
export type PermissionStatus = (typeof STATUSES)[number];

export interface PermissionResult {
  status: PermissionStatus;
  reason?: string;
  osStatus?: number;
}

export interface PermissionOptions {
  /** appleScript only: the app to automate. Default com.apple.Terminal. */
  targetBundleId?: string;
  /** Upper bound for the OS to answer (status) or the user to decide (request). Default 10 s / 120 s. */
  timeoutMs?: number;
}

export const DEFAULT_APPLESCRIPT_TARGET = 'com.apple.Terminal';
const BUNDLE_ID = /^[A-Za-z0-9.-]{1,255}$/;

function checkArgs(name: unknown, opts: PermissionOptions, defaultTimeout: number): [string, string | null, number] {
  if (typeof name !== 'string' || !(PERMISSION_NAMES as readonly string[]).includes(name)) {
    throw new TypeError(`unknown permission ${JSON.stringify(name)}; expected one of ${PERMISSION_NAMES.join(', ')}`);
  }
  if (opts === null || typeof opts !== 'object') throw new TypeError('options must be an object');
  let target: string | null = null;
  if (name === 'appleScript') {
    target = opts.targetBundleId ?? DEFAULT_APPLESCRIPT_TARGET;
    if (typeof target !== 'string' || !BUNDLE_ID.test(target)) {
      throw new TypeError(`invalid targetBundleId ${JSON.stringify(target)}`);
    }
  } else if (opts.targetBundleId !== undefined) {
    throw new TypeError('targetBundleId applies to appleScript only');
  }
  const timeout = opts.timeoutMs ?? defaultTimeout;
  if (!Number.isInteger(timeout) || timeout <= 0 || timeout > 0x7fffffff) {
    throw new TypeError('timeoutMs must be a positive integer');
  }
  return [name, target, timeout];
}

function toResult(raw: RawTccResult): PermissionResult {
  const status = STATUSES[raw.status] ?? 'unknown';
  const result: PermissionResult = { status };
  if (raw.reason !== undefined) result.reason = raw.reason;
  if (raw.osStatus !== undefined) result.osStatus = raw.osStatus;
  return result;
}

function run(start: (done: NativeCallback<RawTccResult>) => void): Promise<PermissionResult> {
  return new Promise((resolve, reject) => {
    start((err, raw) => (err ? reject(err) : resolve(toResult(raw!))));
  });
}

export const permissions = {
  /** Current status; never prompts. Unknown names throw TypeError synchronously. */
  async status(name: PermissionName, opts: PermissionOptions = {}): Promise<PermissionStatus> {
    return (await permissions.statusDetail(name, opts)).status;
  },
  /** Asks the OS (which may prompt the user); resolves with the resulting status. */
  async request(name: PermissionName, opts: PermissionOptions = {}): Promise<PermissionStatus> {
    return (await permissions.requestDetail(name, opts)).status;
  },
  /** status() plus the native reason / OSStatus. */
  statusDetail(name: PermissionName, opts: PermissionOptions = {}): Promise<PermissionResult> {
    const [n, target, timeout] = checkArgs(name, opts, 10_000);
    const binding = getBinding();
    return run((done) => binding.tccStatus(n, target, timeout, done));
  },
  /** request() plus the native reason / OSStatus. */
  requestDetail(name: PermissionName, opts: PermissionOptions = {}): Promise<PermissionResult> {
    const [n, target, timeout] = checkArgs(name, opts, 120_000);
    const binding = getBinding();
    return run((done) => binding.tccRequest(n, target, timeout, done));
  },
};

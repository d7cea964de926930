// `doctor`: every check in order, and the verdict (fail if any finding fails).
import {
  checkBridgeSocket,
  checkExecSocket,
  checkFiles,
  checkGateway,
  checkLocks,
  checkServices,
  checkStateDir,
  checkTcc,
  checkTls,
  type Finding,
} from './checks.js';

export type { Finding, FindingStatus } from './checks.js';

export interface DoctorReport {
  ok: boolean;
  stateDir: string;
  counts: { ok: number; warn: number; fail: number };
  findings: Finding[];
}

export async function runDoctor(stateDir: string): Promise<DoctorReport> {
  const findings: Finding[] = [
    ...checkStateDir(stateDir),
    ...checkFiles(stateDir),
    ...checkLocks(stateDir),
    ...(await checkExecSocket(stateDir)),
    ...(await checkBridgeSocket(stateDir)),
    ...(await checkTcc()),
    ...(await checkGateway(stateDir)),
    ...(await checkTls(stateDir)),
    ...(await checkServices(stateDir)),
  ];
  const counts = { ok: 0, warn: 0, fail: 0 };
  for (const f of findings) counts[f.status]++;
  return { ok: counts.fail === 0, stateDir, counts, findings };
}

// The whole local stack from the library, in one process: Gateway, exec host (app role), a node host
// joined to the Gateway, and an operator that runs a command on the node. README.md shows this file;
// test/examples.test.ts runs it, so it cannot drift from the API.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  PendingApprovals,
  addAllowlistPattern,
  approvalsFilePath,
  connectOperator,
  startExecHost,
  startGateway,
  startNodeHost,
  updateApprovals,
} from 'openclaw-ipc';

export async function main(): Promise<string> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openclaw-ipc-example-'));
  const pending = new PendingApprovals(); // approvals waiting for an operator
  const gateway = await startGateway({ port: 0, stateDir, pending, autoApproveNodes: true });
  const app = await startExecHost({ stateDir, pending }); // socket 0600, token in exec-approvals.json

  // Policy: allowlist mode, and /bin/echo (resolved to its real path) is allowed.
  updateApprovals(approvalsFilePath(stateDir), (file) => {
    file.defaults = { security: 'allowlist', ask: 'off', askFallback: 'deny' };
    addAllowlistPattern(file, 'main', fs.realpathSync('/bin/echo'));
  });

  const node = await startNodeHost({
    url: gateway.url,
    token: gateway.token,
    stateDir,
    displayName: 'example',
    log: () => {},
  });
  await node.ready;
  await gateway.nodes.waitFor(node.nodeId);

  const operator = await connectOperator({ url: gateway.url, token: gateway.token, tokenSource: 'option', stateDir });
  try {
    const result = await operator.request<{ payload: { stdout: string; exitCode: number } }>('node.invoke', {
      nodeId: node.nodeId,
      command: 'system.run',
      params: { command: ['echo', 'hello from the node'] },
      idempotencyKey: 'example-1',
    });
    return result.payload.stdout; // "hello from the node\n"
  } finally {
    operator.close();
    await node.close();
    await app.close();
    await gateway.close();
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(await main());
}

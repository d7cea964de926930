// The local stack the control page talks to, as `up` wires it (Gateway + exec host sharing one
// approvals queue, a node host joined to the Gateway), with every log line kept for inspection, and a
// headless Chromium from the system (never downloaded). Shared by the browser tests and bench/control-ui.ts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium, type Browser } from 'playwright-core';

import { connectOperator, type OperatorTarget } from '../../lib/client/operator.js';
import type { GatewayClient } from '../../lib/client/gateway-client.js';
import { PendingApprovals } from '../../lib/common/approval-queue.js';
import { approvalsFilePath, updateApprovals } from '../../lib/exec-host/exec-approvals-file.js';
import { startExecHost, type ExecHost } from '../../lib/exec-host/server.js';
import { startGateway, type GatewayHandle } from '../../lib/gateway/index.js';
import { startNodeHost, type NodeHost } from '../../lib/node-host/host.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Stack {
  stateDir: string;
  gateway: GatewayHandle;
  app: ExecHost;
  node: NodeHost;
  operator: GatewayClient;
  pageUrl: string;
  /** Every line the Gateway and node host logged. */
  logs: string[];
  close(): Promise<void>;
}

export interface StackOptions {
  token?: string;
  promptTimeoutMs?: number;
  /** As `up` does: the node's commands need no operator. Default true; false leaves its request pending. */
  autoApproveNodes?: boolean;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  // Not t.testdir(): Unix sockets live under this dir, and .tap/fixtures paths can pass sun_path's 108 bytes.
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ocipc-ui-'));
  const logs: string[] = [];
  const pending = new PendingApprovals();
  const gateway = await startGateway({
    port: 0,
    stateDir,
    pending,
    env: {},
    token: options.token ?? 'ui-test-token-0123456789abcdef',
    autoApproveNodes: options.autoApproveNodes ?? true,
    localApprovalRoute: true,
    log: (line) => logs.push(`[gateway] ${line}`),
  });
  const app = await startExecHost({ stateDir, pending, promptTimeoutMs: options.promptTimeoutMs ?? 60_000 });
  // Nothing is allowlisted and ask=on-miss: every command waits for a human, all three answers offered.
  updateApprovals(approvalsFilePath(stateDir), (file) => {
    file.defaults = { security: 'allowlist', ask: 'on-miss', askFallback: 'deny' };
  });
  const node = await startNodeHost({
    url: gateway.url,
    token: gateway.token,
    stateDir,
    displayName: 'test-node',
    log: (line) => logs.push(`[node] ${line}`),
  });
  await node.ready;
  await gateway.nodes.waitFor(node.nodeId);
  const target: OperatorTarget = { url: gateway.url, token: gateway.token, tokenSource: 'option', stateDir };
  const operator = await connectOperator(target, { displayName: 'test operator' });
  if (!gateway.controlUi) throw new Error('the control page is not built: run npm run build');
  const pageUrl = gateway.controlUi.url;
  return {
    stateDir,
    gateway,
    app,
    node,
    operator,
    pageUrl,
    logs,
    async close() {
      await operator.close();
      await node.close();
      await app.close();
      await gateway.close();
      fs.rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** system.run on the stack's node, as an operator would send it (argv, no shell). */
export function runOnNode(stack: Stack, argv: string[], key: string): Promise<unknown> {
  return stack.operator.request(
    'node.invoke',
    {
      nodeId: stack.node.nodeId,
      command: 'system.run',
      params: { command: argv },
      idempotencyKey: key,
      timeoutMs: 90_000,
    },
    { timeoutMs: 95_000 },
  );
}

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}

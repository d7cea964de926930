// Public API of the exec host (the app role) and the pieces a node host reuses for local execution.
export {
  startExecHost,
  MAX_LINE_BYTES,
  TTL_MS,
  type ExecHost,
  type ExecHostOptions,
  type ExecHostStats,
} from './server.js';
export {
  execViaSocket,
  requestApprovalViaSocket,
  loadClientConfig,
  buildExecLine,
  checkSocketFile,
  ExecHostClientError,
  EXEC_TIMEOUT_MS,
  APPROVAL_TIMEOUT_MS,
  type ExecHostResponse,
  type ExecHostError,
  type ApprovalSocketRequest,
  type SocketClientOptions,
} from './client.js';
export {
  evaluateSystemRun,
  applyDecision,
  resolveEffectivePolicy,
  canonicalCommandText,
  rawCommandMatches,
  globToRegExp,
  validateRequest,
  denials,
  DEFAULT_POLICY,
  DEFAULT_AGENT_ID,
  type ExecHostRequest,
  type Evaluation,
  type EffectivePolicy,
  type RunPlan,
  type Denial,
  type EvaluateOptions,
} from './policy.js';
export {
  runCommand,
  defaultBackend,
  tailText,
  TRUNCATED_PREFIX,
  DEFAULT_OUTPUT_CAP,
  type ExecResult,
  type RunCommandOptions,
  type RunnerBackend,
} from './runner.js';
export {
  buildChildEnv,
  validateEnvOverrides,
  isBlockedEnvKey,
  EnvOverrideError,
  BLOCKED_ENV_KEYS,
  INHERITED_ENV_KEYS,
} from './env.js';
export { resolveExecutable, trustedSearchPath, type ResolvedExecutable } from './resolve-executable.js';
export {
  parseShellScript,
  renderScript,
  quoteWord,
  type ScriptParse,
  type ScriptSegment,
  type ChainOperator,
} from './shell-analysis.js';
export {
  evaluateShellWrapper,
  isExecCapableProgram,
  type ShellWrapperEvaluation,
  type SegmentVerdict,
} from './shell-allowlist.js';
export { EXEC_FREE, EXEC_CAPABLE, programNames, isExecCapableName } from './program-catalogue.js';
export {
  identifyProgram,
  isTrustedShell,
  isSystemInstalled,
  WRAPPER_SHELLS,
  type ProgramIdentity,
} from './program-identity.js';
export { judgeProgram, isExactPattern, type ProgramMiss } from './program-match.js';
export { toolModelFor, type ToolModel } from './option-injection.js';
export {
  approvalsFilePath,
  socketPathFor,
  readApprovals,
  updateApprovals,
  ensureApprovals,
  addAllowlistPattern,
  agentSection,
  requireToken,
  ApprovalsCache,
  ApprovalsFileError,
  SECURITY_VALUES,
  ASK_VALUES,
  type ApprovalsFile,
  type AllowlistEntry,
  type PolicySection,
  type Security,
  type Ask,
} from './exec-approvals-file.js';
export { signExecRequest, verifyExecRequest, newNonce, newSocketToken } from './hmac.js';
export {
  TerminalApprover,
  DesktopApprover,
  QueueApprover,
  composeApprovers,
  raceApprovers,
  askWithTimeout,
  askForDecision,
  promptText,
  PROMPT_TITLE,
  type Answer,
  type Approver,
  type ApprovalPrompt,
  type AskOutcome,
  type PromptStop,
} from './prompts.js';
export { displayArgv, displayString, decodeDisplayedArgv } from '../common/argv-display.js';
export { InstanceLockedError, SocketSetupError, acquireInstanceLock } from './instance-lock.js';
export { AuditLog } from './audit-log.js';

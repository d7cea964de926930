// The two lines a client may send on the exec-approvals socket, as TypeBox schemas compiled once, on the
// first line checked (this check runs on every exec, on the hot path; `up`'s start-up never needs it). Extra keys are tolerated, as upstream's decoder
// does; the signed request inside `requestJson` is checked after the HMAC (policy.ts validateRequest).
import { Type, type Static } from '../protocol/typebox.js';
import { compileValidator } from '../protocol/validator.js';

const Bounded = Type.String({ minLength: 1, maxLength: 256 });

/** `{type:"exec", id, nonce, ts, hmac, requestJson}`: a signed run request. */
export const ExecLineSchema = Type.Object({
  type: Type.Literal('exec'),
  id: Bounded,
  nonce: Bounded,
  ts: Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER }),
  hmac: Type.String(),
  requestJson: Type.String(),
});
export type ExecLine = Static<typeof ExecLineSchema>;

/** `{type:"request", id, token, request:{command, …}}`: a prompt-only request (upstream's shell text). */
export const PromptLineSchema = Type.Object({
  type: Type.Literal('request'),
  id: Type.String(),
  token: Type.String(),
  request: Type.Object({ command: Type.String() }),
});
export type PromptLine = Static<typeof PromptLineSchema>;

const execLine = compileValidator(ExecLineSchema);
const promptLine = compileValidator(PromptLineSchema);

export const isExecLine = (value: unknown): value is ExecLine => execLine.check(value);
export const isPromptLine = (value: unknown): value is PromptLine => promptLine.check(value);

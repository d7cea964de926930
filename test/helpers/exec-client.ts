// A second client process for the exec host tests (its own pid: its own run-slot share). Reads
// {socketPath, token, requests: ExecHostRequest[]} as JSON from argv[2], sends every request at once and
// prints one JSON line per answer: {i, reply} or {i, error}. Stays alive until killed.
import { execViaSocket } from '../../lib/exec-host/client.js';
import type { ExecHostRequest } from '../../lib/exec-host/policy.js';

const { socketPath, token, requests } = JSON.parse(process.argv[2]!) as {
  socketPath: string;
  token: string;
  requests: ExecHostRequest[];
};
requests.forEach((request, i) => {
  execViaSocket(request, { socketPath, token, timeoutMs: 600_000 }).then(
    (reply) => process.stdout.write(`${JSON.stringify({ i, reply })}\n`),
    (err: Error) => process.stdout.write(`${JSON.stringify({ i, error: err.message })}\n`),
  );
});
setInterval(() => {}, 60_000);

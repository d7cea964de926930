// The catalogue of stable ERR_* codes: data only, read by scripts/errors-table.ts (which writes
// docs/errors.md) and by test/common/error-codes.test.ts (which checks it against every ERR_* literal in
// lib/ and native/). Nothing on a hot path imports it; the classes named here live beside their raise sites.

export type ErrorArea =
  'gateway' | 'node host' | 'exec host' | 'bridge' | 'native' | 'config' | 'cli' | 'client' | 'protocol' | 'common';

/** The IpcError subclasses that carry an ERR_* code (a misspelt name fails typecheck). */
export type ErrorClassName =
  | 'IpcError'
  | 'PeerCredError'
  | 'CodeSignError'
  | 'TccError'
  | 'SpawnError'
  | 'UnsupportedPlatformError'
  | 'NativeUnavailableError'
  | 'JsonlError'
  | 'BoundedJsonError'
  | 'SocketSetupError'
  | 'StateDirError'
  | 'ApprovalsFileError'
  | 'ReplayJournalError'
  | 'ExecHostClientError'
  | 'InstanceLockedError'
  | 'GatewayLockedError'
  | 'GatewayClientError'
  | 'IdentityError'
  | 'UsageError'
  | 'BridgeError'
  | 'BridgeTransportError'
  | '(HTTP refusal)'
  | '(probe summary)';

export interface ErrorCodeEntry {
  readonly area: ErrorArea;
  /** The classes whose `code` can be this one. The two parenthesised names are not classes: an HTTP
   *  refusal's body and the `error.code` of a bridge probe result, where the code travels without a throw. */
  readonly classes: readonly ErrorClassName[];
  /** One sentence: what happened. */
  readonly meaning: string;
  /** One sentence: what the caller or user should do about it. */
  readonly action: string;
}

export type ErrorCatalogue = { readonly [code: `ERR_${string}`]: ErrorCodeEntry };

export const ERROR_CODES: ErrorCatalogue = {
  // ---- common: line and JSON readers, private sockets, pending approvals ----
  ERR_LINE_TOO_LONG: {
    area: 'common',
    classes: ['JsonlError'],
    meaning: 'A JSON line on a socket grew past its byte cap before its newline arrived.',
    action: 'Send smaller requests; the peer is broken or hostile if it sent this on purpose.',
  },
  ERR_INVALID_UTF8: {
    area: 'common',
    classes: ['JsonlError'],
    meaning: 'A line read from a socket is not valid UTF-8.',
    action: 'Fix the sender to write UTF-8 JSON; the connection is not usable after this.',
  },
  ERR_EOF: {
    area: 'common',
    classes: ['JsonlError'],
    meaning: 'The stream ended before a complete line arrived.',
    action: 'The peer closed early (crashed or refused you); check its log and retry.',
  },
  ERR_STREAM: {
    area: 'common',
    classes: ['JsonlError'],
    meaning: 'The socket failed while a line was being read; `cause` holds the socket error.',
    action: 'Check `cause` (usually ECONNRESET: the peer went away) and retry.',
  },
  ERR_READ_TIMEOUT: {
    area: 'common',
    classes: ['JsonlError'],
    meaning: 'No complete line arrived within the read deadline.',
    action: 'Retry; if the peer is alive but slow, give the call a longer timeout.',
  },
  ERR_JSON_TOO_DEEP: {
    area: 'common',
    classes: ['BoundedJsonError'],
    meaning: 'A JSON text is nested deeper than the reader allows.',
    action: 'Flatten the input; nothing legitimate in this protocol nests that deep.',
  },
  ERR_JSON_INVALID: {
    area: 'common',
    classes: ['BoundedJsonError'],
    meaning: 'A JSON text does not parse.',
    action: 'Fix the sender or the file; the message names the parse error.',
  },
  ERR_JSON_DUPLICATE_KEY: {
    area: 'common',
    classes: ['BoundedJsonError'],
    meaning: 'A JSON object repeats a key, which two parsers could read two ways.',
    action: 'Remove the repeated key from the input.',
  },
  ERR_UNSUPPORTED_PLATFORM: {
    area: 'common',
    classes: ['UnsupportedPlatformError'],
    meaning: 'The feature needs an OS this process is not running on (`feature` and `platform` say which).',
    action: 'Run it on Linux or macOS, or check `process.platform` before calling.',
  },
  ERR_SOCKET_PATH_RELATIVE: {
    area: 'common',
    classes: ['SocketSetupError'],
    meaning: 'A server was asked to listen on a relative socket path.',
    action: 'Pass an absolute path.',
  },
  ERR_SOCKET_PATH_TOO_LONG: {
    area: 'common',
    classes: ['SocketSetupError'],
    meaning: 'The socket path is longer than a Unix socket address holds.',
    action: 'Use a shorter state directory or socket path (about 100 bytes at most).',
  },
  ERR_SOCKET_PATH_NOT_SOCKET: {
    area: 'common',
    classes: ['SocketSetupError'],
    meaning:
      'Something that is not a socket (a file, directory or symbolic link) sits at the socket path; it was left untouched.',
    action: 'Find out who put it there, then move it away and start again.',
  },
  ERR_SOCKET_OWNER: {
    area: 'common',
    classes: ['SocketSetupError', 'ExecHostClientError'],
    meaning: 'The socket file at the path belongs to another user, so it is not ours to serve or to trust.',
    action: 'Check who created it; remove it if stale, or point the state directory at one you own.',
  },
  ERR_SOCKET_IN_USE: {
    area: 'common',
    classes: ['SocketSetupError'],
    meaning: 'Another server is live on the socket path, or (bridge host) holds its instance lock.',
    action: 'Stop the other instance first, or use another socket path; the CLI exits 3.',
  },
  ERR_SOCKET_BIND: {
    area: 'common',
    classes: ['SocketSetupError'],
    meaning: 'listen() on the socket path failed; `cause` holds the system error.',
    action: 'Check `cause` (permissions or a missing directory) and the path.',
  },
  ERR_SOCKET_MODE: {
    area: 'common',
    classes: ['SocketSetupError'],
    meaning: 'The socket came up with a mode or owner other than 0600 and ours, so it was closed.',
    action: 'Something changed the socket during bind; check the directory for other writers.',
  },
  ERR_APPROVALS_FULL: {
    area: 'common',
    classes: ['IpcError'],
    meaning: 'The table of approvals waiting for a decision is full.',
    action: 'Decide or cancel pending approvals, then retry.',
  },
  ERR_APPROVALS_OWNER_LIMIT: {
    area: 'common',
    classes: ['IpcError'],
    meaning: 'This requester already has its maximum number of approvals waiting.',
    action: 'Wait for a decision on, or cancel, one of its approvals; the Gateway answers UNAVAILABLE.',
  },
  ERR_APPROVAL_DUPLICATE_ID: {
    area: 'common',
    classes: ['IpcError'],
    meaning: 'An approval with this id is already pending.',
    action: 'Use a fresh id (or omit it to get a random one); the Gateway answers INVALID_REQUEST.',
  },

  // ---- config: openclaw.json, the state directory and the JSON files in it ----
  ERR_CONFIG_MALFORMED: {
    area: 'config',
    classes: ['IpcError', 'StateDirError'],
    meaning:
      'A config or state file (openclaw.json, node.json, the pairing files) does not parse or has a key of the wrong type.',
    action: 'Fix the file at the line, column or key the message names; it is never overwritten.',
  },
  ERR_CONFIG_NOT_FILE: {
    area: 'config',
    classes: ['StateDirError'],
    meaning: 'A config path names something that is not a regular file.',
    action: 'Replace it with a regular file or point the config path elsewhere.',
  },
  ERR_CONFIG_TOO_LARGE: {
    area: 'config',
    classes: ['StateDirError'],
    meaning: 'A config or state file is larger than its reader accepts.',
    action: 'Check the file; a config that large is corrupt or not a config.',
  },
  ERR_STATE_DIR_SYMLINK: {
    area: 'config',
    classes: ['StateDirError'],
    meaning: 'The state directory is a symbolic link, which is refused.',
    action: 'Point OPENCLAW_STATE_DIR at the real directory.',
  },
  ERR_STATE_DIR_NOT_DIR: {
    area: 'config',
    classes: ['StateDirError'],
    meaning: 'The state directory path exists but is not a directory.',
    action: 'Move the file away or choose another OPENCLAW_STATE_DIR.',
  },
  ERR_STATE_DIR_OWNER: {
    area: 'config',
    classes: ['StateDirError'],
    meaning: 'The state directory belongs to another user.',
    action: 'Run as its owner, or use a state directory of your own.',
  },

  // ---- native: the addon and the typed API over it ----
  ERR_NATIVE_UNAVAILABLE: {
    area: 'native',
    classes: ['NativeUnavailableError'],
    meaning:
      'The native addon could not be loaded (no prebuild for this platform and no local build); `cause` says why.',
    action: 'Run `npm rebuild openclaw-ipc` (needs a C++ toolchain) or install on a platform with a prebuild.',
  },
  ERR_NATIVE_ALREADY_LOADED: {
    area: 'native',
    classes: ['IpcError'],
    meaning: 'setNativeBindingPath() was called after the addon had already been loaded.',
    action: 'Call it before the first native call (or set OPENCLAW_IPC_NATIVE_BINDING instead).',
  },
  ERR_NATIVE: {
    area: 'native',
    classes: ['IpcError', 'PeerCredError', 'CodeSignError', 'TccError', 'SpawnError'],
    meaning:
      'The addon failed with neither a specific code nor an errno (other native failures carry the errno name, such as ENOTCONN).',
    action: 'Report it as a bug with the message; nothing the caller did should cause it.',
  },
  ERR_PEERCRED_BAD_FD: {
    area: 'native',
    classes: ['PeerCredError'],
    meaning: 'A peer-credential call got a negative or closed file descriptor.',
    action: 'Pass a connected Unix socket; the socket was probably closed already.',
  },
  ERR_PEERCRED_NO_FD: {
    area: 'native',
    classes: ['PeerCredError'],
    meaning: 'The socket object has no file descriptor (not connected, destroyed, or not a Unix socket).',
    action: 'Call it on a connected net.Socket of a Unix socket, before it closes.',
  },
  ERR_PEERCRED_NO_PID: {
    area: 'native',
    classes: ['PeerCredError'],
    meaning: 'The OS did not report the peer process id, so its executable cannot be looked up.',
    action: 'Treat the peer as unidentified (fail closed).',
  },
  ERR_PEERCRED_NO_PIDFD: {
    area: 'native',
    classes: ['PeerCredError'],
    meaning: 'There is no pidfd (Linux before SO_PEERPIDFD) or audit token for this peer, so it cannot be pinned.',
    action: 'Treat the peer as unidentified, or run on Linux 6.5 or later.',
  },
  ERR_PEERCRED_CLOSED: {
    area: 'native',
    classes: ['PeerCredError'],
    meaning: 'A PeerProcess was used after close().',
    action: 'Fix the caller: keep the PeerProcess open while you use it.',
  },
  ERR_PEERCRED_PROCESS_EXITED: {
    area: 'native',
    classes: ['PeerCredError'],
    meaning: 'The peer process exited before its executable could be read.',
    action: 'Drop the connection; there is nobody left to answer.',
  },
  ERR_PEERCRED_UID_MISMATCH: {
    area: 'native',
    classes: ['PeerCredError'],
    meaning: "macOS: the peer's current euid differs from its connect-time uid, so the socket changed hands.",
    action: 'Refuse the peer (fail closed); do not retry on the same connection.',
  },
  ERR_PEERCRED_PEER_CHANGED: {
    area: 'native',
    classes: ['PeerCredError'],
    meaning: 'macOS: more than one process shares the peer socket, so the peer is ambiguous.',
    action: 'Refuse the peer (fail closed); do not retry on the same connection.',
  },
  ERR_CODESIGN_PROCESS_EXITED: {
    area: 'native',
    classes: ['CodeSignError'],
    meaning: 'The process whose code identity was asked for exited first.',
    action: 'Treat it as unverified and drop the connection.',
  },
  ERR_CODESIGN_BAD_REQUIREMENT: {
    area: 'native',
    classes: ['CodeSignError'],
    meaning: 'The TeamID or signing identifier given cannot be turned into a code requirement.',
    action: 'Pass 10-character TeamIDs and a plain signing identifier.',
  },
  ERR_TCC_UNKNOWN_PERMISSION: {
    area: 'native',
    classes: ['TccError'],
    meaning: 'The TCC permission name is not one this package knows.',
    action: 'Use one of the names the README lists (screenRecording, accessibility, appleScript, ...).',
  },
  ERR_SOCKET_BAD_FD: {
    area: 'native',
    classes: ['IpcError'],
    meaning: 'socketHungUp() got a negative or closed file descriptor.',
    action: 'Pass the descriptor of an open socket.',
  },
  ERR_LOCK_BAD_FD: {
    area: 'native',
    classes: ['IpcError'],
    meaning: 'The flock binding got a negative or closed file descriptor.',
    action: 'Report it as a bug: the lock helpers open the file themselves.',
  },
  ERR_LOCK_FILE_UNSAFE: {
    area: 'native',
    classes: ['IpcError'],
    meaning: 'A lock file exists but is not a regular file owned by us.',
    action: 'Check who created it, then remove it.',
  },
  ERR_LOCK_TIMEOUT: {
    area: 'native',
    classes: ['IpcError'],
    meaning: 'Another process held a file lock (the approvals file lock) longer than the wait allows.',
    action: 'Retry; if it persists, find the process holding `<file>.lock`.',
  },
  ERR_LOCK_CONTENDED: {
    area: 'native',
    classes: ['IpcError'],
    meaning: 'An instance lock file was replaced five times in a row while being taken.',
    action: 'Retry; something is deleting the lock file in a loop.',
  },

  // ---- exec host: approvals file, socket server, client, replay journal ----
  ERR_APPROVALS_MALFORMED: {
    area: 'exec host',
    classes: ['ApprovalsFileError'],
    meaning: 'exec-approvals.json does not parse or does not have the expected shape.',
    action: 'Fix or move the file as the message says; it is never overwritten.',
  },
  ERR_APPROVALS_NOT_FILE: {
    area: 'exec host',
    classes: ['ApprovalsFileError'],
    meaning: 'The exec-approvals.json path is not a regular file.',
    action: 'Move whatever is there away.',
  },
  ERR_APPROVALS_TOO_LARGE: {
    area: 'exec host',
    classes: ['ApprovalsFileError'],
    meaning: 'exec-approvals.json is larger than its reader accepts.',
    action: 'Check the file for corruption and trim its allowlists.',
  },
  ERR_APPROVALS_SYMLINK: {
    area: 'exec host',
    classes: ['ApprovalsFileError'],
    meaning: 'exec-approvals.json is a symbolic link, which is refused.',
    action: 'Replace the link with the real file.',
  },
  ERR_APPROVALS_OWNER: {
    area: 'exec host',
    classes: ['ApprovalsFileError'],
    meaning: 'exec-approvals.json belongs to another user.',
    action: 'Run as its owner, or check who replaced it.',
  },
  ERR_APPROVALS_PERMISSIONS: {
    area: 'exec host',
    classes: ['ApprovalsFileError'],
    meaning: 'exec-approvals.json is readable or writable by others, which exposes the socket token.',
    action: 'Check nobody else changed it, then `chmod 600` it.',
  },
  ERR_APPROVALS_NO_TOKEN: {
    area: 'exec host',
    classes: ['ApprovalsFileError'],
    meaning: 'exec-approvals.json has no socket.token yet.',
    action: 'Start the exec host (`openclaw-ipc app` or `up`) first; it writes the token.',
  },
  ERR_APPROVALS_MISSING: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'exec-approvals.json does not exist, so there is no socket to talk to.',
    action: 'Start the exec host first, or pass the right state directory.',
  },
  ERR_SOCKET_NOT_FOUND: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'The exec host socket named in exec-approvals.json does not exist.',
    action: 'Start the exec host; a stale file may name a socket from an old run.',
  },
  ERR_SOCKET_NOT_SOCKET: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'The exec host socket path is not a socket (or is a symbolic link).',
    action: 'Check who put it there and remove it.',
  },
  ERR_PEER_UNVERIFIABLE: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'The client could not read the uid of the process serving the exec host socket.',
    action: 'Treat the host as untrusted; check the platform supports peer credentials.',
  },
  ERR_PEER_UID: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'The process serving the exec host socket runs as another uid, so nothing was sent.',
    action: 'Find out who is serving the socket; run the exec host as yourself.',
  },
  ERR_PEER_DENIED: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'The exec host refused this connection outright (its peer check) before reading the request.',
    action: 'Connect as the uid the exec host runs as; the CLI exits 4 (denied).',
  },
  ERR_CONNECT: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'Connecting to the exec host socket failed; `cause` holds the system error.',
    action: 'Check the exec host is running (ECONNREFUSED means a stale socket).',
  },
  ERR_EXEC_HOST_TIMEOUT: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'The exec host did not accept the connection or answer within the deadline.',
    action: 'Retry with a longer timeout; a prompt waiting for the user also takes time.',
  },
  ERR_EXEC_HOST_CLOSED: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'The exec host closed the connection or sent a bad line instead of a reply.',
    action: 'Check the exec host log; the request may or may not have run.',
  },
  ERR_EXEC_HOST_CANCELLED: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'The caller aborted the request (its AbortSignal fired).',
    action: 'Nothing: this is the answer to your own cancellation.',
  },
  ERR_EXEC_HOST_LOCKED: {
    area: 'exec host',
    classes: ['InstanceLockedError'],
    meaning: 'Another exec host already runs for this state directory (`holderPid` names it).',
    action: 'Stop it first or use another state directory; the CLI exits 3.',
  },
  ERR_REPLAY_JOURNAL_PATH: {
    area: 'exec host',
    classes: ['ReplayJournalError'],
    meaning: 'The replay journal path is relative.',
    action: 'Pass an absolute path.',
  },
  ERR_REPLAY_JOURNAL_IO: {
    area: 'exec host',
    classes: ['ReplayJournalError'],
    meaning: 'Reading or writing the replay journal failed; `errno` and `cause` say how.',
    action: 'Check disk space and permissions of the state directory.',
  },
  ERR_REPLAY_JOURNAL_SYMLINK: {
    area: 'exec host',
    classes: ['ReplayJournalError'],
    meaning: 'The replay journal is a symbolic link, which is refused.',
    action: 'Remove the link; the exec host creates the journal itself.',
  },
  ERR_REPLAY_JOURNAL_NOT_FILE: {
    area: 'exec host',
    classes: ['ReplayJournalError'],
    meaning: 'The replay journal path is not a regular file.',
    action: 'Move whatever is there away.',
  },
  ERR_REPLAY_JOURNAL_OWNER: {
    area: 'exec host',
    classes: ['ReplayJournalError'],
    meaning: 'The replay journal belongs to another user.',
    action: 'Run as its owner, or check who replaced it.',
  },

  // ---- gateway: auth config, instance lock, HTTP origin checks, pairing ----
  ERR_GATEWAY_AUTH_CONFIG: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning:
      'The Gateway auth settings cannot work: no token or password for the chosen mode, an unresolvable secret reference, or mode none on a non-loopback bind.',
    action:
      'Set gateway.auth.token / OPENCLAW_GATEWAY_TOKEN (or the password equivalents) as the message says; the CLI exits 2.',
  },
  ERR_GATEWAY_AUTH_UNSUPPORTED: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning: 'openclaw.json asks for an auth mode openclaw-ipc does not implement (trusted-proxy).',
    action: 'Use auth mode token or password.',
  },
  ERR_INVALID_TOKEN: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning: 'The token option given to the Gateway is empty.',
    action: 'Pass a non-empty token, or leave the option out to use the env or config token.',
  },
  ERR_INVALID_PASSWORD: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning: 'The password option given to the Gateway is empty.',
    action: 'Pass a non-empty password, or leave the option out to use the env or config password.',
  },
  ERR_GATEWAY_LOCKED: {
    area: 'gateway',
    classes: ['GatewayLockedError'],
    meaning: 'Another Gateway already runs for this state directory (`holderPid` names it).',
    action: 'Stop it first or use another state directory; the CLI exits 3.',
  },
  ERR_GATEWAY_PORT_IN_USE: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning: 'Something already listens on the Gateway port.',
    action: 'Stop it or pick another port (`--port`, or port 0 in tests); the CLI exits 3.',
  },
  ERR_HOST_NOT_ALLOWED: {
    area: 'gateway',
    classes: ['(HTTP refusal)'],
    meaning:
      'An HTTP or WebSocket request to a loopback Gateway named a Host other than localhost, 127.0.0.1 or [::1] (DNS rebinding); answered 403.',
    action: 'Connect by a loopback name with the right port.',
  },
  ERR_ORIGIN_NOT_ALLOWED: {
    area: 'gateway',
    classes: ['(HTTP refusal)'],
    meaning:
      "A browser request's Origin is neither the Gateway's own nor listed in gateway.controlUi.allowedOrigins; answered 403.",
    action: 'Open the page from the Gateway host, or add the origin to gateway.controlUi.allowedOrigins.',
  },
  ERR_HEADER_AMBIGUOUS: {
    area: 'gateway',
    classes: ['(HTTP refusal)'],
    meaning: 'A request repeated its Host or Origin header; answered 400.',
    action: 'Send each header once (a proxy that duplicates them needs fixing).',
  },
  ERR_NOT_PAIRED: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning: 'A device token was asked for a device that is not paired.',
    action: 'Approve the device pairing request first.',
  },
  ERR_PAIRING_FULL: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning: 'Too many pairing requests are pending.',
    action: 'Approve or reject pending requests (device.pair.* / node.pair.* methods), or wait for them to expire.',
  },
  ERR_NODE_WAIT_TIMEOUT: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning: 'The awaited node did not connect to the Gateway in time.',
    action: 'Check the node host is running and paired; its log says why it did not connect.',
  },

  // ---- client: the Gateway client, device identity, operator helpers ----
  ERR_GATEWAY_IDENTITY_REQUIRED: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'A client with role node was created without a device identity.',
    action: 'Load or create one with the identity store and pass it as `identity`.',
  },
  ERR_GATEWAY_STARTED: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'start() was called twice on one GatewayClient.',
    action: 'Fix the caller: start once, or create a new client.',
  },
  ERR_GATEWAY_NOT_CONNECTED: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'A request was made while the client is not connected (before hello-ok or during a reconnect).',
    action: 'Wait for start() to resolve (or the next `hello` event) and retry.',
  },
  ERR_GATEWAY_CLOSED: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'The connection closed before hello-ok or while requests were pending; the close code is in the message.',
    action: 'Retry after reconnect; a pending request may or may not have run.',
  },
  ERR_GATEWAY_TIMEOUT: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'The Gateway did not answer a request within its timeout.',
    action: 'Retry, or give the call a longer timeout.',
  },
  ERR_GATEWAY_SEND: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'Writing a request to the WebSocket failed; `cause` holds the error.',
    action: 'Retry after the client reconnects.',
  },
  ERR_GATEWAY_CONNECT_TIMEOUT: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'No hello-ok arrived within the connect timeout.',
    action: 'Check the URL and that the Gateway is up; raise connectTimeoutMs on a slow link.',
  },
  ERR_GATEWAY_CHALLENGE: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'The Gateway sent a connect challenge without a nonce.',
    action: 'The peer is not a compatible Gateway; check the URL.',
  },
  ERR_GATEWAY_UNREACHABLE: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'The WebSocket to the Gateway failed to open; `cause` holds the error.',
    action: 'Check the URL, that the Gateway runs, and the network path.',
  },
  ERR_GATEWAY_HELLO: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'The Gateway answered connect with something other than hello-ok.',
    action: 'The peer is not a compatible Gateway; check the URL.',
  },
  ERR_GATEWAY_PROTOCOL: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'The Gateway speaks a protocol version outside the range this client supports.',
    action: 'Upgrade whichever side is older.',
  },
  ERR_GATEWAY_AUTH_CHANGED: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning:
      "The Gateway's auth changed (close 4001) and this client was given a fixed token or password, so it stopped reconnecting.",
    action: 'Restart the client with the new secret, or give it a secret source it can re-read.',
  },
  ERR_IDENTITY_MALFORMED: {
    area: 'client',
    classes: ['IdentityError'],
    meaning: 'The stored device identity file has an unsupported version or an unreadable Ed25519 key.',
    action: 'Restore the file from backup, or move it away to create a new identity (the device must pair again).',
  },
  ERR_IDENTITY_MISMATCH: {
    area: 'client',
    classes: ['IdentityError'],
    meaning: "The stored device identity's deviceId does not match its key.",
    action: 'Restore the file from backup, or move it away to create a new identity (the device must pair again).',
  },
  ERR_NODE_AMBIGUOUS: {
    area: 'client',
    classes: ['IpcError'],
    meaning: 'The node name or id prefix given matches more than one node.',
    action: 'Use the full node id (`openclaw-ipc nodes list` shows them).',
  },
  ERR_NODE_NOT_FOUND: {
    area: 'client',
    classes: ['IpcError'],
    meaning: 'No connected node matches the name or id given.',
    action: 'Check `openclaw-ipc nodes list`; the node may be offline.',
  },

  // ---- node host ----
  ERR_NODE_CHILD: {
    area: 'node host',
    classes: ['IpcError'],
    meaning: 'The node host child process could not start, or exited before it connected; stderr is in the message.',
    action: 'Read the message tail, fix the cause (config, auth), and start again.',
  },

  // ---- cli ----
  ERR_USAGE: {
    area: 'cli',
    classes: ['UsageError', 'IpcError'],
    meaning:
      'A command line option is missing, unknown or has a bad value (such as a --url that is not ws:// or wss://).',
    action: 'Fix the command line; `--help` lists the options. The CLI exits 2.',
  },

  // ---- bridge: PeekabooBridge transport (host envelope codes are in BRIDGE_ENVELOPE_CODES) ----
  ERR_BRIDGE_CONNECT: {
    area: 'bridge',
    classes: ['BridgeTransportError'],
    meaning:
      'The bridge socket is missing, refused the connection, or closed or failed mid-message; `errno`/`cause` say which.',
    action: 'Start the bridge host; discovery moves on to the next candidate socket, an explicit socket fails.',
  },
  ERR_BRIDGE_TIMEOUT: {
    area: 'bridge',
    classes: ['BridgeTransportError'],
    meaning: 'Connecting to the bridge host, or reading its full reply, took longer than the deadline.',
    action: 'Retry; a host busy with a capture can be slow, so raise the timeout if it recurs.',
  },
  ERR_BRIDGE_MESSAGE_TOO_LARGE: {
    area: 'bridge',
    classes: ['BridgeTransportError'],
    meaning: 'A bridge message is larger than the size cap.',
    action: 'Request less at once (smaller captures); a host sending this much is misbehaving.',
  },
  ERR_BRIDGE_PATH_TOO_LONG: {
    area: 'bridge',
    classes: ['BridgeTransportError'],
    meaning: 'The bridge socket path does not fit in a Unix socket address.',
    action: 'Use a shorter support directory (OPENCLAW_BRIDGE_SUPPORT_DIR) or PEEKABOO_BRIDGE_SOCKET.',
  },
  ERR_BRIDGE_SOCKET_NOT_OURS: {
    area: 'bridge',
    classes: ['BridgeTransportError'],
    meaning: 'The bridge socket file, or the process serving it, belongs to another uid; nothing was sent.',
    action: 'Find out who owns the socket; only a host running as you is used.',
  },
  ERR_BRIDGE_NOT_A_SOCKET: {
    area: 'bridge',
    classes: ['BridgeTransportError'],
    meaning: 'The bridge socket path is not a socket.',
    action: 'Check who put a file there and remove it.',
  },
  ERR_BRIDGE_PEER_UNVERIFIED: {
    area: 'bridge',
    classes: ['BridgeTransportError'],
    meaning: 'The uid of the process serving the bridge socket could not be read.',
    action: 'Treat the host as untrusted; check the platform supports peer credentials.',
  },
  ERR_BRIDGE: {
    area: 'bridge',
    classes: ['(probe summary)'],
    meaning:
      'A bridge probe failed with an error that carried no code of its own (the probe result reports it under this code).',
    action: 'Read the probe message; report it as a bug if it repeats.',
  },
  ERR_APPROVALS_BASE_HASH_REQUIRED: {
    area: 'exec host',
    classes: ['IpcError'],
    meaning: 'An approvals write came without the hash of the file it was based on.',
    action: 'Re-read with exec.approvals.get and send its hash as baseHash.',
  },
  ERR_APPROVALS_BASE_HASH_CHANGED: {
    area: 'exec host',
    classes: ['IpcError'],
    meaning: 'The approvals file changed since the caller read it, so the write was refused.',
    action: 'Re-read with exec.approvals.get, reapply your change and retry.',
  },
  ERR_APPROVALS_INVALID: {
    area: 'exec host',
    classes: ['IpcError'],
    meaning: 'The approvals content sent for writing does not have the expected shape.',
    action: 'Fix the content as the message says; the Gateway answers INVALID_REQUEST.',
  },
  ERR_DRY_RUN_UNSUPPORTED: {
    area: 'exec host',
    classes: ['ExecHostClientError'],
    meaning: 'A dry-run exec request was answered as if it had run: the exec host does not support dry runs.',
    action: 'Upgrade the exec host; check whether the request actually ran.',
  },
  ERR_SERVICE_COMMAND: {
    area: 'cli',
    classes: ['IpcError'],
    meaning: 'A service manager command (systemctl or launchctl) failed; its output is in the message.',
    action: 'Read the output, fix the cause, and run the service command again.',
  },
  ERR_SERVICE_NOT_INSTALLED: {
    area: 'cli',
    classes: ['IpcError'],
    meaning: 'The service to restart has no unit or plist installed.',
    action: 'Run `openclaw-ipc service install --role <role>` first.',
  },
  ERR_SERVICE_PATH: {
    area: 'cli',
    classes: ['IpcError'],
    meaning: 'A path written into the service definition (node binary, CLI entry, state dir) contains a line break.',
    action: 'Install from paths without line breaks.',
  },
  ERR_GATEWAY_BIND_INVALID: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning:
      'The bind setting is not a known mode or IP address, custom bind lacks an IPv4 host, or no interface has the address.',
    action: 'Fix gateway.bind / gateway.customBindHost (or --bind); the CLI exits 2.',
  },
  ERR_GATEWAY_TLS_REQUIRED: {
    area: 'gateway',
    classes: ['IpcError'],
    meaning: 'A non-loopback bind was asked for without TLS.',
    action: 'Set gateway.tls.enabled true or pass --tls; the CLI exits 2.',
  },
  ERR_GATEWAY_TLS_CONFIG: {
    area: 'gateway',
    classes: ['IpcError', 'GatewayClientError'],
    meaning: 'TLS settings cannot work: unreadable certificate or key, a bad fingerprint, or a pin on a ws:// URL.',
    action: 'Fix the TLS settings as the message says; the CLI exits 2.',
  },
  ERR_GATEWAY_TLS_PIN_MISMATCH: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'The Gateway presented a certificate whose SHA-256 is not the pinned one; nothing was sent.',
    action: 'Check the Gateway certificate changed legitimately, then update the pin; the CLI exits 4.',
  },
  ERR_GATEWAY_TLS_UNTRUSTED: {
    area: 'client',
    classes: ['GatewayClientError'],
    meaning: 'The Gateway certificate is not trusted by this machine (self-signed, expired, wrong name).',
    action: 'Pass --tls-fingerprint <sha256> printed by the Gateway, or install a trusted certificate.',
  },
  ERR_TLS_FINGERPRINT_INVALID: {
    area: 'common',
    classes: ['IpcError'],
    meaning: 'A TLS fingerprint is not 64 hex digits (colons allowed).',
    action: 'Copy the SHA-256 fingerprint the Gateway prints at start; the CLI exits 2.',
  },
};

/** What a host's error envelope means, by wire code. A BridgeError's `code` is `ERR_BRIDGE_<WIRE_CODE>`
 *  (permissionDenied -> ERR_BRIDGE_PERMISSION_DENIED); `bridgeCode` keeps the wire code. */
// Keyed by lib/bridge/protocol.ts BRIDGE_ERROR_CODES (common may not import bridge: test/common/error-codes.test.ts
// checks the two key sets are equal).
export const BRIDGE_ENVELOPE_CODES: { readonly [wire: string]: Omit<ErrorCodeEntry, 'area' | 'classes'> } = {
  permissionDenied: {
    meaning: 'The host lacks a macOS permission the operation needs (`permission` names it).',
    action: 'Grant that permission to the host app in System Settings > Privacy & Security.',
  },
  notFound: {
    meaning: 'The snapshot, result or item asked for does not exist.',
    action: 'List what exists (listSnapshots) and ask for that.',
  },
  timeout: {
    meaning: 'The host gave up on the operation within its own deadline.',
    action: 'Retry; narrow the operation if it keeps timing out.',
  },
  invalidRequest: {
    meaning: 'The request is well formed but its values are not acceptable (unknown operation, bad argument).',
    action: 'Fix the request as the message says.',
  },
  operationNotSupported: {
    meaning: 'The host does not implement this operation (or not at the negotiated protocol version).',
    action: 'Use another host (discovery prefers ones that advertise the operation) or run it locally.',
  },
  serverBusy: {
    meaning: 'The host is at its concurrency limit.',
    action: 'Retry after a short wait.',
  },
  versionMismatch: {
    meaning: 'Client and host share no protocol version.',
    action: 'Upgrade whichever side is older.',
  },
  unauthorizedClient: {
    meaning: 'The host refused this client (its uid, TeamID or bundle is not allowed).',
    action: "Run a signed client the host's allowlist names, or add its TeamID to the host's allowedTeamIds.",
  },
  decodingFailed: {
    meaning: 'A request, reply or error envelope could not be decoded.',
    action: 'Check both sides speak the same protocol version; report it if they do.',
  },
  internalError: {
    meaning: 'The operation failed inside the host, or the host returned no response.',
    action: "Check the host's log and retry.",
  },
};

/** Node.js's own codes that lib compares against but never raises; the scan in the test ignores them. */
export const FOREIGN_CODES: readonly string[] = ['ERR_TLS_CERT_ALTNAME_INVALID'];

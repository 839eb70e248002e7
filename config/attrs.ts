/**
 * Every configuration attribute hypermesh reads, declared once with its
 * default, environment variable and meaning (the names and defaults of the
 * Monarch runtime).
 *
 * @module
 */

import { type Attr, defineAttr } from "./attr.ts";

const s = 1_000;

/** Maximum size of one channel frame body in bytes. */
export const CODEC_MAX_FRAME_LENGTH: Attr<"int"> = defineAttr({
  key: "hyperactor::config::codec_max_frame_length",
  env: "HYPERACTOR_CODEC_MAX_FRAME_LENGTH",
  kind: "int",
  default: 1 << 30,
  doc: "Largest accepted frame body in bytes; a peer sending more is disconnected.",
});
/** How long a posted message may stay unacknowledged before the link is declared broken. */
export const MESSAGE_DELIVERY_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor::config::message_delivery_timeout",
  env: "HYPERACTOR_MESSAGE_DELIVERY_TIMEOUT",
  kind: "duration",
  default: 30 * s,
  doc: "Unacknowledged messages older than this are returned as undeliverable.",
});
/** Ack at least this often while messages are unacknowledged. */
export const MESSAGE_ACK_TIME_INTERVAL: Attr<"duration"> = defineAttr({
  key: "hyperactor::config::message_ack_time_interval",
  env: "HYPERACTOR_MESSAGE_ACK_TIME_INTERVAL",
  kind: "duration",
  default: 500,
  doc: "Receiver acks pending messages at least this often.",
});
/** Ack after this many unacknowledged messages. */
export const MESSAGE_ACK_EVERY_N_MESSAGES: Attr<"int"> = defineAttr({
  key: "hyperactor::config::message_ack_every_n_messages",
  env: "HYPERACTOR_MESSAGE_ACK_EVERY_N_MESSAGES",
  kind: "int",
  default: 1000,
  doc: "Receiver acks once this many messages are unacknowledged.",
});
/** Hop limit of a message envelope. */
export const MESSAGE_TTL_DEFAULT: Attr<"int"> = defineAttr({
  key: "hyperactor::config::message_ttl_default",
  env: "HYPERACTOR_MESSAGE_TTL_DEFAULT",
  kind: "int",
  default: 64,
  doc: "Initial TTL of an envelope; each hop decrements it.",
});
/** Time an actor gets to stop in StopAll / Stop. */
export const STOP_ACTOR_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor::config::stop_actor_timeout",
  env: "HYPERACTOR_STOP_ACTOR_TIMEOUT",
  kind: "duration",
  default: 10 * s,
  doc: "How long StopAll waits for actors before aborting them.",
});
/** Time an actor's cleanup may take. */
export const CLEANUP_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor::config::cleanup_timeout",
  env: "HYPERACTOR_CLEANUP_TIMEOUT",
  kind: "duration",
  default: 3 * s,
  doc: "Bound on an actor's cleanup hook.",
});
/** Grace a proc gets to exit after StopAll before the launcher escalates. */
export const PROCESS_EXIT_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor::config::process_exit_timeout",
  env: "HYPERACTOR_PROCESS_EXIT_TIMEOUT",
  kind: "duration",
  default: 10 * s,
  doc: "How long a stopped proc may take to exit before SIGTERM/SIGKILL.",
});
/** Readiness bound of `Host.spawn`; 0 disables it. */
export const HOST_SPAWN_READY_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor::host::spawn_ready_timeout",
  env: "HYPERACTOR_HOST_SPAWN_READY_TIMEOUT",
  kind: "duration",
  default: 30 * s,
  doc: "How long Host.spawn waits for a proc to become ready (0 = forever).",
});
/** Bound on flushing a proc's forwarder during destroy. */
export const FORWARDER_FLUSH_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor::config::forwarder_flush_timeout",
  env: "HYPERACTOR_FORWARDER_FLUSH_TIMEOUT",
  kind: "duration",
  default: 5 * s,
  doc: "destroyAndWait flushes the forwarder for at most this long.",
});
/** Number of dead-actor snapshots a proc retains. */
export const TERMINATED_SNAPSHOT_RETENTION: Attr<"int"> = defineAttr({
  key: "hyperactor::config::terminated_snapshot_retention",
  env: "HYPERACTOR_TERMINATED_SNAPSHOT_RETENTION",
  kind: "int",
  default: 100,
  doc: "How many terminated actors a proc remembers for introspection.",
});
/** Stream child stdout/stderr to the client over a log channel. */
export const MESH_ENABLE_LOG_FORWARDING: Attr<"bool"> = defineAttr({
  key: "hyperactor_mesh::bootstrap::mesh_enable_log_forwarding",
  env: "HYPERACTOR_MESH_ENABLE_LOG_FORWARDING",
  kind: "bool",
  default: false,
  doc: "Forward child output lines to the log client.",
});
/** Append child output to aggregate files. */
export const MESH_ENABLE_FILE_CAPTURE: Attr<"bool"> = defineAttr({
  key: "hyperactor_mesh::bootstrap::mesh_enable_file_capture",
  env: "HYPERACTOR_MESH_ENABLE_FILE_CAPTURE",
  kind: "bool",
  default: false,
  doc: "Write child output to one stdout and one stderr file per manager.",
});
/** Number of stderr lines kept for exit diagnostics. */
export const MESH_TAIL_LOG_LINES: Attr<"int"> = defineAttr({
  key: "hyperactor_mesh::bootstrap::mesh_tail_log_lines",
  env: "HYPERACTOR_MESH_TAIL_LOG_LINES",
  kind: "int",
  default: 0,
  doc: "Keep the last N output lines of each child for Stopped/Killed diagnostics.",
});
/** Children die with their parent. */
export const MESH_BOOTSTRAP_ENABLE_PDEATHSIG: Attr<"bool"> = defineAttr({
  key: "hyperactor_mesh::bootstrap::mesh_bootstrap_enable_pdeathsig",
  env: "HYPERACTOR_MESH_BOOTSTRAP_ENABLE_PDEATHSIG",
  kind: "bool",
  default: true,
  doc: "Bootstrapped children arrange to die when their parent dies.",
});
/** Concurrency of bulk termination. */
export const MESH_TERMINATE_CONCURRENCY: Attr<"int"> = defineAttr({
  key: "hyperactor_mesh::bootstrap::mesh_terminate_concurrency",
  env: "HYPERACTOR_MESH_TERMINATE_CONCURRENCY",
  kind: "int",
  default: 16,
  doc: "How many procs are terminated at once (callers clamp to 1..256).",
});
/** Per-child grace during termination. */
export const MESH_TERMINATE_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::bootstrap::mesh_terminate_timeout",
  env: "HYPERACTOR_MESH_TERMINATE_TIMEOUT",
  kind: "duration",
  default: 10 * s,
  doc: "How long each child gets to stop before it is killed.",
});
/** Which launcher starts procs: "" or native, systemd. */
export const MESH_PROC_LAUNCHER_KIND: Attr<"string"> = defineAttr({
  key: "hyperactor_mesh::bootstrap::mesh_proc_launcher_kind",
  env: "HYPERACTOR_MESH_PROC_LAUNCHER_KIND",
  kind: "string",
  default: "",
  doc: 'Launcher for bootstrap procs: "" / "native" (Deno.Command) or "systemd".',
});
/** Default transport hosts bind. */
export const MESH_DEFAULT_TRANSPORT: Attr<"string"> = defineAttr({
  key: "hyperactor_mesh::config::default_transport",
  env: "HYPERACTOR_MESH_DEFAULT_TRANSPORT",
  kind: "string",
  default: "unix",
  doc: "Transport for host addresses when none is given (unix, tcp, local).",
});
/** Keepalive expiry of mesh resources; 0 disables orphan reaping. */
export const MESH_ORPHAN_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::config::mesh_orphan_timeout",
  env: "HYPERACTOR_MESH_ORPHAN_TIMEOUT",
  kind: "duration",
  default: 60 * s,
  doc: "Actors whose keepalive lapsed this long ago are stopped (0 = never).",
});
/** Silence that fails a proc mesh spawn. */
export const MESH_PROC_SPAWN_MAX_IDLE: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::config::proc_spawn_max_idle",
  env: "HYPERACTOR_MESH_PROC_SPAWN_MAX_IDLE",
  kind: "duration",
  default: 30 * s,
  doc: "A proc mesh spawn fails when no rank reports for this long.",
});
/** Silence that fails a proc mesh stop. */
export const MESH_PROC_STOP_MAX_IDLE: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::config::proc_stop_max_idle",
  env: "HYPERACTOR_MESH_PROC_STOP_MAX_IDLE",
  kind: "duration",
  default: 30 * s,
  doc: "A proc mesh stop fails when no rank reports for this long.",
});
/** Bound on each proc state query. */
export const MESH_GET_PROC_STATE_MAX_IDLE: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::config::get_proc_state_max_idle",
  env: "HYPERACTOR_MESH_GET_PROC_STATE_MAX_IDLE",
  kind: "duration",
  default: 60 * s,
  doc: "procStates pads ranks silent this long with Timeout.",
});
/** Silence that fails an actor mesh spawn. */
export const MESH_ACTOR_SPAWN_MAX_IDLE: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::config::actor_spawn_max_idle",
  env: "HYPERACTOR_MESH_ACTOR_SPAWN_MAX_IDLE",
  kind: "duration",
  default: 30 * s,
  doc: "An actor mesh spawn fails when no rank reports for this long.",
});
/** Bound on each actor state query. */
export const MESH_GET_ACTOR_STATE_MAX_IDLE: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::config::get_actor_state_max_idle",
  env: "HYPERACTOR_MESH_GET_ACTOR_STATE_MAX_IDLE",
  kind: "duration",
  default: 30 * s,
  doc: "Actor state queries give up after this long.",
});
/** Supervision poll period of mesh controllers. */
export const MESH_SUPERVISION_POLL_FREQUENCY: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::config::supervision_poll_frequency",
  env: "HYPERACTOR_MESH_SUPERVISION_POLL_FREQUENCY",
  kind: "duration",
  default: 10 * s,
  doc: "How often controllers poll the state of their mesh.",
});
/** Per-host bound on pushing client config during attach. */
export const MESH_ATTACH_CONFIG_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hyperactor_mesh::config::mesh_attach_config_timeout",
  env: "HYPERACTOR_MESH_ATTACH_CONFIG_TIMEOUT",
  kind: "duration",
  default: 10 * s,
  doc: "HostMesh.attach fails when a host does not ack the config push in time.",
});
/** Admin agent bind address. */
export const MESH_ADMIN_ADDR: Attr<"string"> = defineAttr({
  key: "hyperactor_mesh::config::mesh_admin_addr",
  env: "HYPERACTOR_MESH_ADMIN_ADDR",
  kind: "string",
  default: "127.0.0.1:1729", // AW-6: loopback only unless configured
  doc: "Address the mesh admin agent serves.",
});
/** Largest cast fan-out dimension. */
export const MESH_MAX_CAST_DIMENSION_SIZE: Attr<"int"> = defineAttr({
  key: "hyperactor_mesh::config::max_cast_dimension_size",
  env: "HYPERACTOR_MESH_MAX_CAST_DIMENSION_SIZE",
  kind: "int",
  default: 16,
  doc: "Casts reshape dimensions larger than this.",
});
/** Prefix forwarded child output lines with the rank. */
export const PREFIX_WITH_RANK: Attr<"bool"> = defineAttr({
  key: "hyperactor_mesh::logging::prefix_with_rank",
  env: "HYPERACTOR_PREFIX_WITH_RANK",
  kind: "bool",
  default: true,
  doc: "Prefix forwarded output lines with `[rank] `.",
});
/** Lines buffered by log readers. */
export const READ_LOG_BUFFER: Attr<"int"> = defineAttr({
  key: "hyperactor_mesh::logging::read_log_buffer",
  env: "HYPERACTOR_READ_LOG_BUFFER",
  kind: "int",
  default: 100,
  doc: "Lines a log reader buffers before flushing.",
});
/** Write aggregate log files even in a local environment. */
export const FORCE_FILE_LOG: Attr<"bool"> = defineAttr({
  key: "hyperactor_mesh::logging::force_file_log",
  env: "HYPERACTOR_FORCE_FILE_LOG",
  kind: "bool",
  default: false,
  doc: "Create the aggregate stdout/stderr files even when running locally.",
});
/** Where the root client and mesh drop guards serve (hosts on other machines must reach it). */
export const MESH_CLIENT_ADDR: Attr<"string"> = defineAttr({
  key: "hypermesh::config::client_addr",
  env: "HYPERMESH_CLIENT_ADDR",
  kind: "string",
  default: "",
  propagate: false,
  doc: "Address context() serves, e.g. tcp:10.0.0.10:0 when hosts run on other machines; " +
    "empty: a fresh address on HYPERACTOR_MESH_DEFAULT_TRANSPORT.",
});
/**
 * Warm bootstrap children a `BootstrapProcManager` keeps ready: -1 (the
 * default) sizes the pool from the machine (BS-41), 0 turns it off.
 */
export const PREWARM_PROCS: Attr<"int"> = defineAttr({
  key: "hypermesh::config::prewarm_procs",
  env: "HYPERMESH_PREWARM_PROCS",
  kind: "int",
  default: -1,
  doc: "How many pre-spawned bootstrap children (module graph loaded, parent-death guard " +
    "armed) a BootstrapProcManager keeps ready for spawns of its program; -1 (default): " +
    "automatic, 4 on a machine with at least 2 cores and 2 GiB available, fewer on smaller " +
    "ones; 0 turns the warm pool off.",
});
/** Start `deno run` proc children with V8's eager compilation (BS-50). */
export const PROC_EAGER_COMPILE: Attr<"bool"> = defineAttr({
  key: "hypermesh::config::proc_eager_compile",
  env: "HYPERMESH_PROC_EAGER_COMPILE",
  kind: "bool",
  default: true,
  doc: "Start bootstrap children that run `deno run` with `--v8-flags=--no-lazy`: each module " +
    "is compiled whole when it loads (and cached whole in Deno's code cache), so a proc starts " +
    "faster and its first message and its stop compile nothing. false: V8's lazy compilation.",
});
/** Terminated procs a host agent keeps answering for before it forgets the oldest (HA-14). */
export const HOST_RETAINED_EXITED_PROCS: Attr<"int"> = defineAttr({
  key: "hypermesh::config::host_retained_exited_procs",
  env: "HYPERMESH_HOST_RETAINED_EXITED_PROCS",
  kind: "int",
  default: 64,
  doc: "How many terminated procs a host agent keeps records of (for status queries and " +
    "`hypermesh status`); beyond that the oldest is forgotten with its route and manager " +
    "state, so a long-lived host stays bounded.",
});
/** Children a bootstrap proc manager lets start at once (BS-47); 0: no bound. */
export const HOST_MAX_STARTING_PROCS: Attr<"int"> = defineAttr({
  key: "hypermesh::config::host_max_starting_procs",
  env: "HYPERMESH_HOST_MAX_STARTING_PROCS",
  kind: "int",
  default: 0,
  doc: "How many proc children one host lets start at once (launched, not yet called back); " +
    "later spawns wait for a slot. 0: no bound. Launches always yield to the event loop " +
    "between each other (BS-46), so heartbeats are served during a burst.",
});
/** What the root client does with a mesh failure nobody handled: "log" or "exit". */
export const UNHANDLED_MESH_FAILURE: Attr<"string"> = defineAttr({
  key: "hypermesh::config::unhandled_mesh_failure",
  env: "HYPERMESH_UNHANDLED_MESH_FAILURE",
  kind: "string",
  default: "log",
  propagate: false,
  doc: 'A mesh failure that reaches the root client unhandled: "log" prints one line on ' +
    'stderr; "exit" prints it and exits the process with code 1.',
});
/** How often an owner pings each host of its meshes (HW-2; 0 turns the heartbeat off). */
export const HOST_HEARTBEAT_INTERVAL: Attr<"duration"> = defineAttr({
  key: "hypermesh::config::host_heartbeat_interval",
  env: "HYPERMESH_HOST_HEARTBEAT_INTERVAL",
  kind: "duration",
  default: 500,
  propagate: false,
  doc: "How often a mesh owner pings the host agent of every host its meshes live on; " +
    "0 turns the heartbeat off (a dead host process is then noticed on the next message).",
});
/** Silence after which an owner declares a host lost (HW-2). */
export const HOST_HEARTBEAT_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hypermesh::config::host_heartbeat_timeout",
  env: "HYPERMESH_HOST_HEARTBEAT_TIMEOUT",
  kind: "duration",
  default: 1_500,
  propagate: false,
  doc: "A host whose agent has not answered a heartbeat for this long is declared lost; " +
    "every pending and later operation on it fails with HostLostError.",
});
/** PEM certificate chain a `tls:` channel server presents (TL-2). */
export const TLS_CERT_FILE: Attr<"string"> = defineAttr({
  key: "hypermesh::channel::tls_cert_file",
  env: "HYPERMESH_TLS_CERT_FILE",
  kind: "string",
  default: "",
  doc: "PEM certificate (chain) a tls: server presents; required to serve tls:.",
});
/** PEM private key of {@linkcode TLS_CERT_FILE} (TL-2). */
export const TLS_KEY_FILE: Attr<"string"> = defineAttr({
  key: "hypermesh::channel::tls_key_file",
  env: "HYPERMESH_TLS_KEY_FILE",
  kind: "string",
  default: "",
  doc: "PEM private key of HYPERMESH_TLS_CERT_FILE; required to serve tls:.",
});
/** PEM CA certificates a `tls:` dialer trusts (TL-3). */
export const TLS_CA_FILE: Attr<"string"> = defineAttr({
  key: "hypermesh::channel::tls_ca_file",
  env: "HYPERMESH_TLS_CA_FILE",
  kind: "string",
  default: "",
  doc: "PEM CA certificate(s) a tls: dialer trusts; empty: the system's root store.",
});
/** Deadline of a connection's pre-session phase on a channel server (RB-1). */
export const CHANNEL_HANDSHAKE_TIMEOUT: Attr<"duration"> = defineAttr({
  key: "hypermesh::channel::handshake_timeout",
  env: "HYPERMESH_CHANNEL_HANDSHAKE_TIMEOUT",
  kind: "duration",
  default: 5 * s,
  doc: "A unix/tcp/tls server drops a connection that has not completed its preamble " +
    "(and authentication) this long after accept.",
});
/** Cap on a channel server's connections still in the pre-session phase (RB-2). */
export const CHANNEL_MAX_PENDING_CONNECTIONS: Attr<"int"> = defineAttr({
  key: "hypermesh::channel::max_pending_connections",
  env: "HYPERMESH_CHANNEL_MAX_PENDING_CONNECTIONS",
  kind: "int",
  default: 256,
  doc: "A unix/tcp/tls server closes new connections at once while this many accepted " +
    "connections have not completed their preamble (and authentication).",
});

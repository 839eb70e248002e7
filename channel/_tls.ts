/**
 * Folder-private TLS material for `tls:` channels: the server's certificate
 * and key, and the CA certificates a dialer trusts, read from the files named
 * by the config attributes.
 *
 * ## Invariants (TL-*)
 * - **TL-2 (server material).** Serving `tls:` needs
 *   `HYPERMESH_TLS_CERT_FILE` and `HYPERMESH_TLS_KEY_FILE`; when either is
 *   unset, missing or unreadable, `serve()` fails with a
 *   {@linkcode ChannelError} naming the address, the variable and the file.
 * - **TL-3 (trust).** A `tls:` dialer trusts the CA certificates of
 *   `HYPERMESH_TLS_CA_FILE` (the system's root store when unset) and checks
 *   that the server's certificate is valid for the address's host; a missing
 *   or unreadable CA file fails `dial()` with a {@linkcode ChannelError}.
 * - **TL-4 (handshake failure).** A TLS handshake that fails (untrusted
 *   certificate, wrong host name, no TLS on the other side) closes the sender
 *   at once — no reconnect loop — with the reason
 *   `Cannot dial "tls:…": TLS handshake failed: …` (a {@linkcode ChannelError}
 *   from the connect path); the undelivered messages come back with it. A
 *   reset or EOF during the handshake is an ordinary link failure (retried).
 *
 * @module
 */

import { attrs, config } from "../config/mod.ts";
import type { Attr } from "../config/attr.ts";
import type { ChannelAddr } from "./addr.ts";
import { ChannelError } from "./errors.ts";

/** What `Deno.listenTls` needs besides the address. */
export interface TlsServeMaterial {
  cert: string;
  key: string;
}

function readPem(
  action: "serve" | "dial",
  addr: ChannelAddr,
  attr: Attr<"string">,
): string | undefined {
  const path = config.get(attr);
  if (path === "") return undefined;
  try {
    return Deno.readTextFileSync(path);
  } catch (cause) {
    const why = cause instanceof Deno.errors.NotFound
      ? "not found"
      : cause instanceof Deno.errors.PermissionDenied || cause instanceof Deno.errors.NotCapable
      ? "permission denied"
      : `unreadable (${(cause as Error)?.message ?? cause})`;
    throw new ChannelError(action, addr.key, `${attr.env} file "${path}" is ${why}`, { cause });
  }
}

/**
 * The certificate chain and key a `tls:` server presents (TL-2).
 * @param addr The tls address being served (for errors).
 * @returns PEM texts.
 * @throws {ChannelError} When a file is not configured or cannot be read.
 */
export function tlsServeMaterial(addr: ChannelAddr): TlsServeMaterial {
  const cert = readPem("serve", addr, attrs.TLS_CERT_FILE);
  const key = readPem("serve", addr, attrs.TLS_KEY_FILE);
  if (cert === undefined || key === undefined) {
    const missing = cert === undefined ? attrs.TLS_CERT_FILE.env : attrs.TLS_KEY_FILE.env;
    throw new ChannelError(
      "serve",
      addr.key,
      `no TLS certificate: set HYPERMESH_TLS_CERT_FILE and HYPERMESH_TLS_KEY_FILE (${missing} is empty)`,
    );
  }
  return { cert, key };
}

/**
 * The CA certificates a `tls:` dialer trusts (TL-3).
 * @param addr The tls address being dialed (for errors).
 * @returns PEM texts, or `undefined` for the system's root store.
 * @throws {ChannelError} When the configured file cannot be read.
 */
export function tlsCaCerts(addr: ChannelAddr): string[] | undefined {
  const pem = readPem("dial", addr, attrs.TLS_CA_FILE);
  return pem === undefined ? undefined : [pem];
}

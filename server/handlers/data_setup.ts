/**
 * Data-connection set-up: PORT and EPRT (active), PASV and EPSV (passive).
 * Active targets must be the control connection's own peer on an
 * unprivileged port (no FTP bounce); passive listeners accept only that peer.
 *
 * @module
 */

import {
  formatEpsvReplyText,
  formatPasvReplyText,
  type HostPort,
  parseEprtArgument,
  parseEpsvArgument,
  parsePortArgument,
  UnsupportedProtocolError,
} from "../../protocol/address.ts";
import { comparableAddress } from "../../protocol/address.ts";
import { ReplyCode } from "../../protocol/reply.ts";
import type { HandlerReply } from "../commands.ts";
import { ActiveChannel } from "../data/data_channel.ts";
import { PassiveListener } from "../data/passive_listener.ts";
import { OpenSslDataChannel, type OpenSslDataOptions } from "../data/openssl_data_channel.ts";
import type { SecureContext } from "node:tls";
import { FtpError } from "../ftp_error.ts";
import type { Session } from "../session.ts";
import { checkResumption } from "../tls/tls_context.ts";
import {
  TlsActiveChannel,
  type TlsDataOptions,
  TlsPassiveChannel,
} from "../data/tls_data_channel.ts";

/** The TLS settings of a PROT P data channel, by engine. */
type TlsDataSetup =
  | { kind: "openssl"; options: OpenSslDataOptions }
  | { kind: "node"; options: TlsDataOptions };

/** The TLS settings of a PROT P data channel, or undefined for PROT C. */
function tlsData(session: Session): TlsDataSetup | undefined {
  const secureContext = session.controlSecureContext ?? session.context.secureContext;
  if (session.protection !== "P" || !secureContext) return undefined;
  const { config } = session.context;
  if (secureContext.kind === "openssl") {
    return {
      kind: "openssl",
      options: {
        context: secureContext,
        binding: session.tlsBinding,
        timeoutMs: config.dataTimeoutMs,
        verify: (engine) => {
          // The binding lets OpenSSL resume only this control connection's sessions.
          const refusal = !config.tlsReuseOptional && !engine.reused
            ? "TLS session reuse required (resume the control connection's session)"
            : undefined;
          session.log("data-tls", {
            protocol: engine.protocol ?? "",
            reused: engine.reused,
            ok: refusal === undefined,
          });
          return refusal;
        },
      },
    };
  }
  return { kind: "node", options: nodeTlsData(session, secureContext.secureContext) };
}

/** The `node:tls` settings of a PROT P data channel. */
function nodeTlsData(session: Session, secureContext: SecureContext): TlsDataOptions {
  const { config } = session.context;
  return {
    secureContext,
    timeoutMs: config.dataTimeoutMs,
    verify: (socket, observer) => {
      const refusal = checkResumption(socket, observer, {
        requireReuse: !config.tlsReuseOptional,
        tickets: session.tickets,
      });
      session.log("data-tls", {
        protocol: socket.getProtocol() ?? "",
        reused: socket.isSessionReused(),
        ok: refusal === undefined,
      });
      return refusal;
    },
  };
}

function comparableLocal(session: Session): string {
  return session.local.comparable;
}

function controlFamily(session: Session): 4 | 6 {
  return session.local.family;
}

function refuseAfterEpsvAll(session: Session, verb: string): void {
  if (session.epsvAll) {
    throw new FtpError(ReplyCode.BadSequence, `${verb} not allowed after EPSV ALL.`);
  }
}

/** The unspecified addresses, which some clients (lftp over IPv6) announce to mean "my address". */
const UNSPECIFIED = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);

function useActive(session: Session, requested: HostPort, verb: string): HandlerReply {
  // An unspecified address can only mean the control connection's peer: connecting there is safe.
  const target = UNSPECIFIED.has(requested.host)
    ? { ...requested, host: session.peer.comparable }
    : requested;
  if (!session.peer.matches(target.host)) {
    session.log("bounce-refused", { verb, target: target.host });
    throw new FtpError(
      ReplyCode.ArgumentSyntaxError,
      "Data connections go only to the control connection's address.",
    );
  }
  if (target.port < 1024) {
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "Privileged data ports are refused.");
  }
  session.dataChannel?.close();
  const tls = tlsData(session);
  const options = {
    hostname: target.host,
    port: target.port,
    timeoutMs: session.context.config.dataTimeoutMs,
  };
  session.dataChannel = tls?.kind === "openssl"
    ? new OpenSslDataChannel(new ActiveChannel(options), tls.options)
    : tls
    ? new TlsActiveChannel({ ...tls.options, ...options })
    : new ActiveChannel(options);
  return { code: ReplyCode.Ok, text: `${verb} command successful.` };
}

/** PORT (RFC 959): an IPv4 address and port to connect to. */
export function port(session: Session, argument: string): Promise<HandlerReply> {
  refuseAfterEpsvAll(session, "PORT");
  if (controlFamily(session) === 6) {
    throw new FtpError(ReplyCode.NetworkProtocolNotSupported, "PORT is IPv4 only; use EPRT.");
  }
  let target: HostPort;
  try {
    target = parsePortArgument(argument.trim());
  } catch {
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "Syntax: PORT h1,h2,h3,h4,p1,p2.");
  }
  return Promise.resolve(useActive(session, target, "PORT"));
}

/** EPRT (RFC 2428): an IPv4 or IPv6 address and port to connect to. */
export function eprt(session: Session, argument: string): Promise<HandlerReply> {
  refuseAfterEpsvAll(session, "EPRT");
  let target: HostPort;
  try {
    target = parseEprtArgument(argument.trim());
  } catch (error) {
    if (error instanceof UnsupportedProtocolError) {
      throw new FtpError(
        ReplyCode.NetworkProtocolNotSupported,
        "Network protocol not supported, use (1,2)",
      );
    }
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "Syntax: EPRT |proto|address|port|.");
  }
  return Promise.resolve(useActive(session, target, "EPRT"));
}

/** Sets up a passive data channel; resolves with the port the client must connect to. */
async function listen(session: Session): Promise<number> {
  session.dataChannel?.close();
  session.dataChannel = undefined;
  const { config } = session.context;
  const hostname = comparableLocal(session);
  const tls = tlsData(session);
  let listener = session.passiveListener;
  if (listener && (tls?.kind === "node" || !listener.usableFor(hostname))) {
    listener.close();
    session.passiveListener = undefined;
    await listener.released; // its port is free again
    listener = undefined;
  }
  const proxy = session.context.proxy;
  const options = {
    hostname,
    peer: session.peer,
    pool: session.context.passivePorts,
    ...(proxy ? { proxy } : {}),
    onRefused: (from: string, reason: string) => session.log("data-refused", { from, reason }),
  };
  if (tls?.kind === "node") {
    const channel = await TlsPassiveChannel.listen({
      ...tls.options,
      ...options,
      timeoutMs: config.dataTimeoutMs,
    });
    session.dataChannel = channel;
    return channel.port;
  }
  // Kept from the last transfer when it can be: no socket, bind, listen and close per file.
  listener ??= session.passiveListener = await PassiveListener.open(options);
  const armed = listener;
  const channel = armed.arm(config.dataTimeoutMs);
  session.dataChannel = tls
    ? new OpenSslDataChannel(channel, tls.options, () => armed.arm(config.dataTimeoutMs))
    : channel;
  return channel.port;
}

/** The address PASV announces: `--pasv-address-for` by client, `--pasv-address`, or the local one. */
function announcedAddress(session: Session): string {
  return session.context.pasvAddresses?.addressFor(session.peerAddress) ??
    session.context.config.pasvAddress ?? comparableLocal(session);
}

/**
 * EPSV announces only a port, on the address the client connected to. Behind a
 * balancer that is the balancer: unless PASV would announce that same address (the
 * balancer forwards the passive ports), the client could not reach the port, so EPSV
 * is refused and clients fall back to PASV, which names this instance.
 */
function refuseEpsvBehindBalancer(session: Session): void {
  if (session.proxiedTo === undefined) return;
  if (comparableAddress(announcedAddress(session)) === comparableAddress(session.proxiedTo)) return;
  throw new FtpError(
    ReplyCode.NotImplemented,
    "EPSV is not available through this load balancer; use PASV.",
  );
}

/** PASV (RFC 959): listens and announces an IPv4 address; on IPv6 connections EPSV is needed. */
export async function pasv(session: Session): Promise<HandlerReply> {
  refuseAfterEpsvAll(session, "PASV");
  if (controlFamily(session) === 6) {
    throw new FtpError(ReplyCode.NetworkProtocolNotSupported, "PASV is IPv4 only; use EPSV.");
  }
  const port = await listen(session);
  const host = announcedAddress(session);
  return {
    code: ReplyCode.EnteringPassive,
    text: formatPasvReplyText({ host, port }),
  };
}

/** EPSV (RFC 2428): listens and announces only the port; `EPSV ALL` locks the session to EPSV. */
export async function epsv(session: Session, argument: string): Promise<HandlerReply> {
  let request: ReturnType<typeof parseEpsvArgument>;
  const family = controlFamily(session);
  try {
    request = parseEpsvArgument(argument.trim());
  } catch (error) {
    if (error instanceof UnsupportedProtocolError) {
      throw new FtpError(
        ReplyCode.NetworkProtocolNotSupported,
        `Network protocol not supported, use (${family === 6 ? 2 : 1})`,
      );
    }
    throw new FtpError(ReplyCode.ArgumentSyntaxError, "Syntax: EPSV [1|2|ALL].");
  }
  if (request.kind === "all") {
    session.epsvAll = true;
    return { code: ReplyCode.Ok, text: "EPSV ALL ok." };
  }
  if (request.kind === "family" && request.family !== family) {
    throw new FtpError(
      ReplyCode.NetworkProtocolNotSupported,
      `Network protocol not supported, use (${family === 6 ? 2 : 1})`,
    );
  }
  refuseEpsvBehindBalancer(session);
  const port = await listen(session);
  return {
    code: ReplyCode.EnteringExtendedPassive,
    text: formatEpsvReplyText(port),
  };
}

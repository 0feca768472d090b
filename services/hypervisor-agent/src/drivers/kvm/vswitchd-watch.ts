import type { Duplex } from "node:stream";

/*
 * OpenFlow framing, only what holding a connection open needs: every message starts with
 * version (1 byte), type (1), length (2, including the header) and xid (4).
 */
const OFP_VERSION_1_0 = 0x01;
const OFPT_HELLO = 0;
const OFPT_ECHO_REQUEST = 2;
const OFPT_ECHO_REPLY = 3;
const OFP_HEADER_BYTES = 8;

/** Reconnect back-off: short, as the time to notice ovs-vswitchd back is the time flows stay missing. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1_000;

export interface VswitchdWatchOptions {
  /** Opens a stream to a unix socket on the host (the SSH connection's direct-streamlocal). */
  open: (socketPath: string) => Promise<Duplex>;
  /** ovs-vswitchd's run directory on the host (where db.sock and `<bridge>.mgmt` live). */
  rundir: string;
  /** The host's managed bridges now (the OVSDB monitor's view); the first one's socket is held. */
  bridges: () => string[];
  /**
   * ovs-vswitchd answers and may have lost its flows: at first contact (it may have
   * restarted while no one watched), and back after the connection dropped while its bridge
   * still existed (a bridge deleted closes its socket too, and that is no restart).
   */
  onContact: () => void;
}

/**
 * Tells when ovs-vswitchd restarts on a host, which its database does not show: a clean
 * restart changes no column of Open_vSwitch, Bridge, Port or Interface, yet every OpenFlow
 * flow is gone. The watch holds one OpenFlow connection to a managed bridge's management
 * socket (`<rundir>/<bridge>.mgmt`, served by ovs-vswitchd itself) through the SSH
 * connection; it drops when ovs-vswitchd exits, and reconnecting succeeds once the new
 * ovs-vswitchd has set the bridge up again: that moment is reported. It sends only HELLO
 * and answers ECHO (ovs-vswitchd probes an idle connection); nothing else is sent, so it
 * changes nothing on the switch.
 */
export class VswitchdWatch {
  private stream: Duplex | undefined;
  private connecting = false;
  private retryMs = RETRY_MIN_MS;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private restartSuspected = true;

  constructor(private readonly opts: VswitchdWatchOptions) {}

  /** (Re)tries now unless connected: called at start and when a bridge may have appeared. */
  poke(): void {
    if (this.closed || this.stream !== undefined || this.connecting || this.timer !== undefined) return;
    void this.connect();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.stream?.destroy();
    this.stream = undefined;
  }

  private async connect(): Promise<void> {
    const bridge = this.opts.bridges()[0];
    if (bridge === undefined) return; // nothing to protect until a bridge is set up (poke)
    this.connecting = true;
    let stream: Duplex;
    try {
      stream = await this.opts.open(`${this.opts.rundir}/${bridge}.mgmt`);
    } catch {
      this.connecting = false;
      this.retry();
      return;
    }
    this.connecting = false;
    if (this.closed) {
      stream.destroy();
      return;
    }
    this.stream = stream;
    this.retryMs = RETRY_MIN_MS;
    let buffered: Buffer = Buffer.alloc(0);
    stream.on("data", (chunk: Buffer) => {
      const rest = answerEchoes(Buffer.concat([buffered, chunk]), (m) => stream.write(m));
      if (rest === undefined)
        stream.destroy(); // not OpenFlow: drop it and connect again
      else buffered = rest;
    });
    stream.on("error", () => stream.destroy());
    // ovs-vswitchd's exit reaches us as the end of the channel (sshd half-closes it).
    stream.on("end", () => stream.destroy());
    stream.on("close", () => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      if (this.opts.bridges().includes(bridge)) this.restartSuspected = true;
      this.retry();
    });
    stream.write(header(OFPT_HELLO, OFP_HEADER_BYTES, 0));
    if (this.restartSuspected) {
      this.restartSuspected = false;
      this.opts.onContact();
    }
  }

  private retry(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, this.retryMs);
    this.timer.unref();
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }
}

function header(type: number, length: number, xid: number): Buffer {
  const b = Buffer.alloc(OFP_HEADER_BYTES);
  b.writeUInt8(OFP_VERSION_1_0, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid, 4);
  return b;
}

/**
 * Answers each complete ECHO_REQUEST in `data` (same xid and payload); returns the
 * incomplete rest, or undefined when a length is impossible (not an OpenFlow stream).
 */
export function answerEchoes(data: Buffer, send: (reply: Buffer) => void): Buffer | undefined {
  let at = 0;
  while (data.length - at >= OFP_HEADER_BYTES) {
    const length = data.readUInt16BE(at + 2);
    if (length < OFP_HEADER_BYTES) return undefined;
    if (data.length - at < length) break;
    if (data.readUInt8(at + 1) === OFPT_ECHO_REQUEST) {
      const reply = Buffer.from(data.subarray(at, at + length));
      reply.writeUInt8(OFPT_ECHO_REPLY, 1);
      send(reply);
    }
    at += length;
  }
  return data.subarray(at);
}

/**
 * A fake Discord gateway over a real WebSocket (`ws`): sends HELLO (op 10), answers heartbeats (op 1) with ACK
 * (op 11), answers IDENTIFY (op 2) with READY (the bot user, the guild as unavailable, the application) and then
 * GUILD_CREATE with the guild's channels, and dispatches events (op 0) with increasing sequence numbers to every
 * identified connection. Records each IDENTIFY (token, intents).
 */
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { snowflake, type FakeState } from "./model.ts";

export interface IdentifyRecord {
  token: string;
  intents: number;
  at: number;
}

interface Connection {
  ws: WebSocket;
  identified: boolean;
  intents: number;
  seq: number;
}

export interface FakeGateway {
  readonly url: string;
  readonly identifies: IdentifyRecord[];
  /** Intents of the last IDENTIFY (0 before any). */
  intents(): number;
  /** Sends a dispatch event to every identified connection. */
  dispatch(type: string, data: unknown): void;
  close(): Promise<void>;
}

export async function startFakeGateway(state: FakeState): Promise<FakeGateway> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const connections = new Set<Connection>();
  const identifies: IdentifyRecord[] = [];

  const send = (c: Connection, payload: Record<string, unknown>) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(payload));
  };
  const dispatchTo = (c: Connection, t: string, d: unknown) => send(c, { op: 0, t, s: ++c.seq, d });

  wss.on("connection", (ws) => {
    const c: Connection = { ws, identified: false, intents: 0, seq: 0 };
    connections.add(c);
    ws.on("close", () => connections.delete(c));
    send(c, { op: 10, d: { heartbeat_interval: 41250 }, s: null, t: null });
    ws.on("message", (raw) => {
      let msg: { op: number; d: any };
      try {
        msg = JSON.parse(String(raw));
      } catch {
        ws.close(4002, "Decode error");
        return;
      }
      switch (msg.op) {
        case 1:
          send(c, { op: 11, d: null, s: null, t: null });
          break;
        case 2: {
          if (msg.d?.token !== state.token && msg.d?.token !== `Bot ${state.token}`) {
            ws.close(4004, "Authentication failed.");
            return;
          }
          identifies.push({ token: String(msg.d.token), intents: Number(msg.d.intents ?? 0), at: Date.now() });
          c.identified = true;
          c.intents = Number(msg.d.intents ?? 0);
          dispatchTo(c, "READY", {
            v: 10,
            user: state.bot,
            guilds: [{ id: state.guildId, unavailable: true }],
            session_id: snowflake(),
            resume_gateway_url: url,
            shard: [0, 1],
            application: { id: state.applicationId, flags: 0 },
          });
          dispatchTo(c, "GUILD_CREATE", state.guildPayload());
          break;
        }
        case 6:
          // RESUME: replay nothing, just confirm.
          c.identified = true;
          dispatchTo(c, "RESUMED", {});
          break;
        default:
          break;
      }
    });
  });

  return {
    url,
    identifies,
    intents: () => identifies.at(-1)?.intents ?? 0,
    dispatch(type, data) {
      for (const c of connections) if (c.identified) dispatchTo(c, type, data);
    },
    async close() {
      for (const c of connections) c.ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

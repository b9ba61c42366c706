import { HubConnectionBuilder, HubConnectionState, LogLevel } from "@microsoft/signalr";
import { useEffect, useState } from "react";
import type { Session } from "./api";

/** One live event as the hub sends it. */
export interface LiveEvent {
  kind: string;
  tenantId: string;
  hostId?: string;
  at: string;
  data: Record<string, unknown>;
}

export type LiveState = "connecting" | "live" | "reconnecting" | "offline";

/**
 * The live feed of the signed-in user: connects to /hubs/live with the session's token, reconnects
 * by itself when the connection is lost, and reports its state so pages can say so.
 */
export function useLiveEvents(session: Session | null, onEvent: (event: LiveEvent) => void): LiveState {
  const [state, setState] = useState<LiveState>("connecting");
  useEffect(() => {
    if (!session) {
      setState("offline");
      return;
    }
    const connection = new HubConnectionBuilder()
      .withUrl("/hubs/live", { accessTokenFactory: () => session.accessToken })
      .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (retry) => Math.min(30_000, 1_000 * 2 ** retry.previousRetryCount) })
      .configureLogging(LogLevel.None)
      .build();
    connection.on("event", onEvent);
    connection.onreconnecting(() => setState("reconnecting"));
    connection.onreconnected(() => setState("live"));
    connection.onclose(() => setState("offline"));
    let stopped = false;
    const start = async () => {
      try {
        await connection.start();
        setState("live");
      } catch {
        // The gateway is away: try again, as a lost connection does.
        setState("reconnecting");
        if (!stopped && connection.state === HubConnectionState.Disconnected) {
          setTimeout(start, 5_000);
        }
      }
    };
    void start();
    return () => {
      stopped = true;
      void connection.stop();
    };
  }, [session, onEvent]);
  return state;
}

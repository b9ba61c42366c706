import { HubConnectionBuilder, HubConnectionState, LogLevel } from "@microsoft/signalr";
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from "react";
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

export const LiveLabels: Record<LiveState, string> = {
  connecting: "Connecting to live updates…",
  live: "Live",
  reconnecting: "Connection lost — reconnecting…",
  offline: "Offline",
};

type Listener = (event: LiveEvent) => void;

interface LiveFeed {
  state: LiveState;
  subscribe: (listener: Listener) => () => void;
}

const LiveContext = createContext<LiveFeed>({ state: "offline", subscribe: () => () => {} });

/**
 * One connection to /hubs/live for the signed-in user, shared by every page: it reconnects by
 * itself when the connection is lost (retrying with backoff, also when the gateway is away at
 * start) and hands each event to the pages listening.
 */
export function LiveProvider({ session, children }: { session: Session; children: ReactNode }) {
  const [state, setState] = useState<LiveState>("connecting");
  const listeners = useRef(new Set<Listener>());
  useEffect(() => {
    const connection = new HubConnectionBuilder()
      .withUrl("/hubs/live", { accessTokenFactory: () => session.accessToken })
      .withAutomaticReconnect({ nextRetryDelayInMilliseconds: (retry) => Math.min(30_000, 1_000 * 2 ** retry.previousRetryCount) })
      .configureLogging(LogLevel.None)
      .build();
    connection.on("event", (event: LiveEvent) => listeners.current.forEach((listener) => listener(event)));
    connection.onreconnecting(() => setState("reconnecting"));
    connection.onreconnected(() => setState("live"));
    let stopped = false;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const start = async () => {
      try {
        await connection.start();
        setState("live");
      } catch {
        // The gateway is away: try again, as a lost connection does.
        if (!stopped && connection.state === HubConnectionState.Disconnected) {
          setState("reconnecting");
          retry = setTimeout(start, 5_000);
        }
      }
    };
    // Automatic reconnection gives up after its retries; starting again keeps the page live.
    connection.onclose(() => {
      if (!stopped) {
        setState("reconnecting");
        retry = setTimeout(start, 5_000);
      }
    });
    void start();
    return () => {
      stopped = true;
      clearTimeout(retry);
      void connection.stop();
    };
  }, [session]);
  const [feed] = useState<Omit<LiveFeed, "state">>(() => ({
    subscribe: (listener) => {
      listeners.current.add(listener);
      return () => listeners.current.delete(listener);
    },
  }));
  return <LiveContext.Provider value={{ state, subscribe: feed.subscribe }}>{children}</LiveContext.Provider>;
}

/** The state of the live connection, as the header shows it. */
export function useLiveState(): LiveState {
  return useContext(LiveContext).state;
}

/** Hands each live event of the tenant to `onEvent` while the component is shown. */
export function useLiveEvents(tenantId: string, onEvent: (event: LiveEvent) => void): void {
  const { subscribe } = useContext(LiveContext);
  const latest = useRef(onEvent);
  useEffect(() => {
    latest.current = onEvent;
  });
  useEffect(() => subscribe((event) => event.tenantId === tenantId && latest.current(event)), [subscribe, tenantId]);
}

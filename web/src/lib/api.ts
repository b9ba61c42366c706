import type { TransferWindow } from "./hosts";
import { problemMessage } from "./format";

/** The signed-in session, kept for the browser tab only. */
export interface Session {
  accessToken: string;
  expiresAt: string;
  user: { id: string; username: string; role: string; tenantIds: string[] };
}

const SessionKey = "alto.session";

export function loadSession(): Session | null {
  const text = sessionStorage.getItem(SessionKey);
  if (!text) {
    return null;
  }
  const session = JSON.parse(text) as Session;
  return new Date(session.expiresAt).getTime() > Date.now() ? session : null;
}

export function saveSession(session: Session | null): void {
  if (session) {
    sessionStorage.setItem(SessionKey, JSON.stringify(session));
  } else {
    sessionStorage.removeItem(SessionKey);
  }
}

/** An answer the API refused, with its status and the problem body's message. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly errors?: Record<string, string[]>) {
    super(message);
  }
}

/** Calls the REST API with the session's token; a refusal becomes an ApiError carrying the problem's message. */
export async function api<T>(path: string, init: RequestInit = {}, session: Session | null = loadSession()): Promise<T> {
  const response = await call(path, init, session);
  return (response.status === 204 ? undefined : await response.json()) as T;
}

/**
 * A resource with its revision (the ETag of the read): a change sent back with it in If-Match is
 * refused (412) when someone else changed the resource meanwhile, instead of overwriting theirs.
 */
export interface Revised<T> {
  value: T;
  revision: string | null;
}

/** Like api, keeping the answer's revision; with `ifMatch` the change is made only at that revision. */
export async function apiRevised<T>(path: string, init: RequestInit, session: Session, ifMatch?: string | null): Promise<Revised<T>> {
  const headers = new Headers(init.headers);
  if (ifMatch) {
    headers.set("If-Match", ifMatch);
  }
  const response = await call(path, { ...init, headers }, session);
  return { value: (await response.json()) as T, revision: response.headers.get("ETag") };
}

/** Whether a change was refused because the resource changed since it was read. */
export function isStale(error: unknown): boolean {
  return error instanceof ApiError && error.status === 412;
}

async function call(path: string, init: RequestInit, session: Session | null): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  if (init.body) {
    headers.set("Content-Type", "application/json");
  }
  if (session) {
    headers.set("Authorization", `Bearer ${session.accessToken}`);
  }
  const response = await fetch(`/api/v1${path}`, { ...init, headers });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({ title: response.statusText }));
    throw new ApiError(response.status, problemMessage(problem), problem.errors);
  }
  return response;
}

/** Downloads a file the API makes (an export) under the given name, with the session's token. */
export async function download(path: string, fileName: string, session: Session): Promise<number> {
  const response = await call(path, {}, session);
  const blob = await response.blob();
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = fileName;
  link.click();
  URL.revokeObjectURL(link.href);
  return blob.size;
}

export interface Page<T> {
  items: T[];
  pageNumber: number;
  pageSize: number;
  total: number;
}

export interface Tenant {
  id: string;
  name: string;
  description: string;
  status: string;
}

export interface VolumeSpace {
  path: string;
  freeBytes: number;
  totalBytes: number;
  recallArmed: boolean;
  recallReason?: string;
}

export interface Host {
  id: string;
  name: string;
  os: string;
  status: string;
  agentVersion?: string;
  volumes: string[];
  lastHeartbeatAt?: string;
  lastScanAt?: string;
  fileCount: number;
  totalBytes: number;
  pendingCommands: number;
  bandwidthLimitBytesPerSecond?: number;
  transferWindows: TransferWindow[];
  timeZone: string;
  lucidLink?: { filespaceRoot: string; pollSeconds: number; fullScanDays: number };
  latestMetrics?: { volumes: VolumeSpace[]; recallProblem?: string; operationsUnsettled?: number; unsettledProblem?: string; recallsWaiting?: number };
}

/** A command queued for an agent: sent at once when it is connected. */
export interface CommandReceipt {
  commandId: string;
  delivered: boolean;
  pending: number;
}

export interface CapacityReport {
  files: number;
  bytes: number;
  tieredFiles: number;
  tieredBytes: number;
  localBytes: number;
  buckets: { key: string; label: string; files: number; bytes: number; tieredBytes: number }[];
}

export interface SavingsReport {
  currency: string;
  costModelSet: boolean;
  stubbedBytes: number;
  netSavingsPerMonth: number;
  days: { day: string; stubbedBytes: number; savings: number }[];
}

import type { Session } from "./api";

/** What the signed-in role may do, as the API decides it (the server refuses the rest anyway). */
export function canManage(session: Session): boolean {
  return session.user.role === "platform-admin" || session.user.role === "tenant-admin";
}

export function canSupport(session: Session): boolean {
  return session.user.role !== "viewer";
}

export function isPlatformAdmin(session: Session): boolean {
  return session.user.role === "platform-admin";
}

/** Bytes as an admin reads them: decimal units (as capacity is sold), three significant digits. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) {
    return "—";
  }
  const units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

/** A money figure in the tenant's currency, to the cent. */
export function formatMoney(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency, maximumFractionDigits: 2 }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

/** The first message of an RFC 9457 problem body, or its title. */
export function problemMessage(problem: { title?: string; detail?: string; errors?: Record<string, string[]> }): string {
  const first = problem.errors ? Object.values(problem.errors).flat()[0] : undefined;
  return problem.detail ?? first ?? problem.title ?? "The request failed";
}

/** A transfer estimate as a person says it: under a minute, minutes, or hours and minutes. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) {
    return "under a minute";
  }
  const minutes = Math.ceil(seconds / 60);
  if (minutes < 60) {
    return `about ${minutes} min`;
  }
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A time as the admin's browser shows it, or a dash when there is none. */
export function formatTime(at?: string | null): string {
  return at ? new Date(at).toLocaleString() : "—";
}

/** What a failed call says to the person who made it. */
export function failureMessage(error: unknown): string {
  return error instanceof Error && error.name !== "TypeError" ? error.message : "The gateway could not be reached";
}

/** A transfer window as the API takes it. */
export interface TransferWindow {
  days: string;
  start: string;
  end: string;
  bytesPerSecond?: number;
}

const WindowLine = /^(\S+)\s+(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})(?:\s+(\d+(?:\.\d+)?)\s*MB\/s)?$/i;

/**
 * Transfer windows written one a line, as an admin writes them: "mon-fri 22:00-06:00", with an
 * optional bandwidth of its own ("sat,sun 00:00-23:59 50 MB/s"). Returns the windows, or the
 * first line that is not one (the API checks days and times itself and says what is wrong).
 */
export function parseWindows(text: string): { windows: TransferWindow[] } | { error: string } {
  const windows: TransferWindow[] = [];
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line.length > 0);
  for (const [index, line] of lines.entries()) {
    const match = WindowLine.exec(line);
    if (!match) {
      return { error: `line ${index + 1} ("${line}") is not "days HH:MM-HH:MM [MB/s]"` };
    }
    const [, days, start, end, rate] = match;
    windows.push({ days, start: start.padStart(5, "0"), end: end.padStart(5, "0"), ...(rate ? { bytesPerSecond: Math.round(Number(rate) * 1_000_000) } : {}) });
  }
  return { windows };
}

/** The windows written back one a line, as parseWindows reads them. */
export function formatWindows(windows: TransferWindow[]): string {
  return windows.map((window) => `${window.days} ${window.start}-${window.end}${window.bytesPerSecond ? ` ${window.bytesPerSecond / 1_000_000} MB/s` : ""}`).join("\n");
}

/** A recall in progress on a host, as its live events report it. */
export interface RecallProgress {
  files: number;
  recalled: number;
  failed: number;
}

/** Adds a recall event's counts; a recall is over when every file it covers has come back or failed. */
export function addRecallEvent(progress: RecallProgress, data: Record<string, unknown>): RecallProgress {
  return { ...progress, recalled: progress.recalled + Number(data.succeeded ?? 0), failed: progress.failed + Number(data.failed ?? 0) };
}

export function recallFinished(progress: RecallProgress): boolean {
  return progress.recalled + progress.failed >= progress.files;
}

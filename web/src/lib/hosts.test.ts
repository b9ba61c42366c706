import { describe, expect, it } from "vitest";
import { addRecallEvent, formatWindows, parseWindows, recallFinished } from "./hosts";

describe("transfer windows", () => {
  it("reads windows one a line, with an optional bandwidth", () => {
    expect(parseWindows("mon-fri 22:00-06:00\n\n sat,sun 0:00 - 23:59 50 MB/s ")).toEqual({
      windows: [
        { days: "mon-fri", start: "22:00", end: "06:00" },
        { days: "sat,sun", start: "00:00", end: "23:59", bytesPerSecond: 50_000_000 },
      ],
    });
  });

  it("names the line that is not a window", () => {
    expect(parseWindows("daily 22:00-06:00\nevery night")).toEqual({ error: 'line 2 ("every night") is not "days HH:MM-HH:MM [MB/s]"' });
  });

  it("nothing written means always", () => {
    expect(parseWindows("  \n")).toEqual({ windows: [] });
  });

  it("writes back what it reads", () => {
    const text = "mon-fri 22:00-06:00\nsat,sun 00:00-23:59 12.5 MB/s";
    const parsed = parseWindows(text);
    expect("windows" in parsed && formatWindows(parsed.windows)).toBe(text);
  });
});

describe("recall progress", () => {
  it("is over once every file came back or failed", () => {
    let progress = { files: 3, recalled: 0, failed: 0 };
    progress = addRecallEvent(progress, { succeeded: 2, failed: 0 });
    expect(recallFinished(progress)).toBe(false);
    progress = addRecallEvent(progress, { succeeded: 0, failed: 1 });
    expect(progress).toEqual({ files: 3, recalled: 2, failed: 1 });
    expect(recallFinished(progress)).toBe(true);
  });
});

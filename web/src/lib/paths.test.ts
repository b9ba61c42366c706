import { describe, expect, it } from "vitest";
import { baseName, breadcrumbs } from "./paths";

describe("breadcrumbs", () => {
  it("walk a POSIX path from its root", () => {
    expect(breadcrumbs("/srv/projects/2019")).toEqual([
      { name: "/", path: "/" },
      { name: "srv", path: "/srv" },
      { name: "projects", path: "/srv/projects" },
      { name: "2019", path: "/srv/projects/2019" },
    ]);
  });

  it("walk a Windows path with its drive and backslashes", () => {
    expect(breadcrumbs("D:\\Shares\\Finance")).toEqual([
      { name: "D:\\", path: "D:\\" },
      { name: "Shares", path: "D:\\Shares" },
      { name: "Finance", path: "D:\\Shares\\Finance" },
    ]);
  });

  it("name the last folder", () => {
    expect(baseName("/srv/projects/")).toBe("projects");
    expect(baseName("D:\\Shares\\Finance")).toBe("Finance");
  });
});

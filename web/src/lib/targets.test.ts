import { describe, expect, it } from "vitest";
import { newTargetRequest, targetLocation, type Target } from "./targets";

describe("targets", () => {
  it("say where their objects are", () => {
    const base: Omit<Target, "kind" | "settings"> = { id: "t", name: "n", hasCredentials: true, enabled: true };
    expect(targetLocation({ ...base, kind: "path", settings: { path: "/mnt/tier2" } })).toBe("/mnt/tier2");
    expect(targetLocation({ ...base, kind: "s3", settings: { bucket: "cold", prefix: "alto/", endpoint: "http://127.0.0.1:4568" } })).toBe(
      "s3://cold/alto/ at http://127.0.0.1:4568",
    );
  });

  it("leave out what was not typed", () => {
    expect(JSON.parse(JSON.stringify(newTargetRequest("path", { name: " nas ", path: "/mnt/tier2", bucket: "ignored" })))).toEqual({
      name: "nas",
      kind: "path",
      settings: { path: "/mnt/tier2" },
    });
    expect(JSON.parse(JSON.stringify(newTargetRequest("s3", { name: "s3", bucket: "b", region: "", accessKeyId: "k", secretAccessKey: "s" })))).toEqual({
      name: "s3",
      kind: "s3",
      settings: { bucket: "b", forcePathStyle: false },
      credentials: { accessKeyId: "k", secretAccessKey: "s" },
    });
  });
});

/** A tier-2 storage target as the API lists it (never with its credentials). */
export interface Target {
  id: string;
  name: string;
  kind: string;
  settings: { path?: string; bucket?: string; region?: string; endpoint?: string; prefix?: string; container?: string; accountUrl?: string };
  hasCredentials: boolean;
  enabled: boolean;
}

/** Where a target keeps its objects, in a line. */
export function targetLocation(target: Target): string {
  const settings = target.settings;
  switch (target.kind) {
    case "path":
      return settings.path ?? "";
    case "s3":
      return `s3://${settings.bucket ?? ""}/${settings.prefix ?? ""}${settings.endpoint ? ` at ${settings.endpoint}` : ""}`;
    case "azure":
      return `${settings.accountUrl ?? "account"} / ${settings.container ?? ""}${settings.prefix ? `/${settings.prefix}` : ""}`;
    default:
      return "";
  }
}

/** The body that creates a target of a kind from the form's fields (the API validates the rest). */
export function newTargetRequest(kind: string, fields: Record<string, string>): object {
  const given = (name: string) => (fields[name]?.trim() ? fields[name].trim() : undefined);
  switch (kind) {
    case "s3":
      return {
        name: given("name"),
        kind,
        settings: { bucket: given("bucket"), region: given("region"), endpoint: given("endpoint"), prefix: given("prefix"), forcePathStyle: Boolean(given("endpoint")) },
        credentials: { accessKeyId: given("accessKeyId"), secretAccessKey: given("secretAccessKey") },
      };
    case "azure":
      return {
        name: given("name"),
        kind,
        settings: { container: given("container"), accountUrl: given("accountUrl"), prefix: given("prefix") },
        credentials: { connectionString: given("connectionString") },
      };
    default:
      return { name: given("name"), kind, settings: { path: given("path") } };
  }
}

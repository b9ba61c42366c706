// Validates every object of a rendered chart (stdin: `helm template` output) against the
// Kubernetes schemas, offline: each object is built as its kubernetes-models class (or
// prometheus-operator's for ServiceMonitor and PrometheusRule) and validated, then held to the
// chart's own rules (policy, below). Prints one line per object and exits 1 if any is unknown,
// invalid or breaks a rule.
import { parseAllDocuments } from "yaml";

const input = await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
});

function moduleOf(apiVersion, kind) {
  const base = apiVersion.startsWith("monitoring.coreos.com/") ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  return `${base}/${apiVersion}/${kind}`;
}

/**
 * What every installation of the chart must hold to, whatever the values: pods run as non-root on
 * a read-only root with no privilege and no capabilities, long-running containers have all three
 * probes and resources, key material only ever comes from Secrets, /metrics is on no Service but
 * its own, and the PrometheusRule carries rules.
 */
function policy(object) {
  const broken = [];
  const pod = object.spec?.template?.spec;
  if (pod) {
    if (pod.securityContext?.runAsNonRoot !== true) broken.push("the pod may run as root");
    for (const container of pod.containers ?? []) {
      const context = container.securityContext ?? {};
      if (context.readOnlyRootFilesystem !== true) broken.push(`${container.name}: root file system writable`);
      if (context.allowPrivilegeEscalation !== false) broken.push(`${container.name}: privilege escalation allowed`);
      if (!(context.capabilities?.drop ?? []).includes("ALL")) broken.push(`${container.name}: capabilities not dropped`);
      if (!container.resources?.requests) broken.push(`${container.name}: no resource requests`);
      if (object.kind === "Deployment") {
        for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
          if (!container[probe]) broken.push(`${container.name}: no ${probe}`);
        }
      }
      for (const variable of container.env ?? []) {
        if (/MASTER_KEY|SigningKey|Password|ConnectionString/.test(variable.name) && !variable.valueFrom?.secretKeyRef) {
          broken.push(`${container.name}: ${variable.name} is not read from a Secret`);
        }
      }
    }
  }
  if (object.kind === "Service" && !object.metadata.name.endsWith("-metrics") && (object.spec.ports ?? []).some((port) => port.name === "metrics")) {
    broken.push("exposes /metrics on a Service the API uses");
  }
  if (object.kind === "PrometheusRule" && !(object.spec.groups?.length > 0 && object.spec.groups.every((group) => group.rules?.length > 0))) {
    broken.push("carries no rules");
  }
  return broken;
}

let failed = 0;
let checked = 0;
for (const document of parseAllDocuments(input)) {
  if (document.errors.length > 0) {
    console.log(`invalid YAML: ${document.errors.map((error) => error.message).join("; ")}`);
    failed++;
    continue;
  }
  const object = document.toJS();
  if (object === null || object === undefined) {
    continue;
  }
  const name = `${object.kind ?? "?"} ${object.metadata?.name ?? "?"}`;
  try {
    const module = await import(moduleOf(String(object.apiVersion), String(object.kind)));
    const Model = module[object.kind] ?? module.default;
    new Model(object).validate();
    const broken = policy(object);
    if (broken.length > 0) {
      throw new Error(`breaks the chart's rules: ${broken.join("; ")}`);
    }
    console.log(`ok ${object.apiVersion} ${name}`);
    checked++;
  } catch (error) {
    console.log(`INVALID ${object.apiVersion} ${name}: ${error.message}`);
    failed++;
  }
}
console.log(`${checked} valid, ${failed} invalid`);
process.exit(failed > 0 || checked === 0 ? 1 : 0);

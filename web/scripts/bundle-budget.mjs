// The console's initial JavaScript: the scripts the built index.html loads before anything else
// (its module entry and the chunks it preloads), gzipped as a browser receives them. Chunks loaded
// later (the chart) are listed apart. The build fails above the budget.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BudgetKilobytes = 350;
const root = new URL("../../gateway-api/Alto.Gateway/wwwroot/", import.meta.url).pathname;
const html = readFileSync(join(root, "index.html"), "utf8");
const initial = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="\/?([^"]+\.js)"/g)].map((match) => match[1]);
const gzipped = (file) => gzipSync(readFileSync(join(root, file)), { level: 9 }).length / 1000;
const initialKilobytes = initial.reduce((sum, file) => sum + gzipped(file), 0);
const later = readdirSync(join(root, "assets"))
  .map((name) => `assets/${name}`)
  .filter((file) => file.endsWith(".js") && !initial.includes(file));
for (const file of later) {
  console.log(`loaded on demand: ${file} ${gzipped(file).toFixed(1)} kB gzipped`);
}
console.log(`initial JavaScript: ${initialKilobytes.toFixed(1)} kB gzipped in ${initial.length} file(s) (budget ${BudgetKilobytes} kB)`);
if (initial.length === 0 || initialKilobytes > BudgetKilobytes) {
  console.error(initial.length === 0 ? "no script found in index.html" : `the initial JavaScript is over its budget of ${BudgetKilobytes} kB`);
  process.exit(1);
}

// Prints the findings of wapiti and testssl.sh (their JSON reports) and exits 1 on any that
// must fail the build: wapiti vulnerabilities rated medium or higher or server errors it
// provoked; testssl findings rated HIGH or CRITICAL (the scan's certificate comes from a CA that
// testssl is told to trust, so none are excused).
import fs from "node:fs";

const [wapitiFile, testsslFile] = process.argv.slice(2);
const WAPITI_LEVELS = { 0: "info", 1: "low", 2: "medium", 3: "high", 4: "critical" };

let failures = 0;

const wapiti = JSON.parse(fs.readFileSync(wapitiFile, "utf8"));
console.log("-- wapiti findings");
let shown = 0;
for (const [section, byCategory] of [
  ["vulnerability", wapiti.vulnerabilities ?? {}],
  ["anomaly", wapiti.anomalies ?? {}],
]) {
  for (const [category, findings] of Object.entries(byCategory)) {
    for (const finding of findings) {
      const level = Number(finding.level);
      // A timeout says the machine was busy; a 500 is a bug (bad input must get a 4xx).
      const fails = section === "vulnerability" ? level >= 2 : /internal server error/i.test(category);
      if (fails) failures++;
      shown++;
      console.log(
        `${fails ? "FAIL" : "    "} [${WAPITI_LEVELS[level] ?? level}] ${section}: ${category}: ${finding.method} ${finding.path}` +
          `${finding.parameter ? ` (${finding.parameter})` : ""} ${String(finding.info ?? "")
            .replace(/\s+/g, " ")
            .slice(0, 200)}`,
      );
    }
  }
}
if (shown === 0) console.log("     none");
const crawled = wapiti.infos?.crawled_pages_nbr ?? wapiti.infos?.crawled_pages?.length;
if (crawled !== undefined) console.log(`     (${crawled} pages crawled)`);

const testssl = JSON.parse(fs.readFileSync(testsslFile, "utf8"));
const entries = Array.isArray(testssl) ? testssl : (testssl.scanResult ?? []).flatMap((r) => Object.values(r).filter(Array.isArray).flat());
console.log("-- testssl.sh findings (LOW and above)");
const RANK = { OK: 0, INFO: 0, LOW: 1, MEDIUM: 2, HIGH: 3, CRITICAL: 4 };
let tlsShown = 0;
for (const entry of entries) {
  const rank = RANK[entry.severity];
  if (entry.severity === "FATAL") {
    failures++;
    console.log(`FAIL [FATAL] ${entry.id}: ${entry.finding}`);
    continue;
  }
  if (rank === undefined || rank < 1) continue;
  const fails = rank >= 3;
  if (fails) failures++;
  tlsShown++;
  console.log(`${fails ? "FAIL" : "    "} [${entry.severity}] ${entry.id}: ${entry.finding}`);
}
if (tlsShown === 0) console.log("     none");
const protocols = entries.filter((e) => /^(SSLv2|SSLv3|TLS1|TLS1_1|TLS1_2|TLS1_3)$/.test(e.id)).map((e) => `${e.id}: ${e.finding}`);
if (protocols.length > 0) console.log(`     protocols: ${protocols.join("; ")}`);

if (failures > 0) {
  console.error(`security scan: ${failures} finding(s) above the allowed level`);
  process.exit(1);
}
console.log("security scan: no wapiti finding of medium or higher, no testssl finding rated HIGH or CRITICAL");

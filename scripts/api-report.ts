// `npm run api:report`: rewrites api/public-api.md from the entry points, after a deliberate change of
// the public API. test/unit/public-api.test.ts fails while the committed report differs.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { readPublicApi, renderReport, REPORT_PATH } from "../test/helpers/public-api.js";

const api = readPublicApi();
mkdirSync(dirname(REPORT_PATH), { recursive: true });
writeFileSync(REPORT_PATH, renderReport(api));
console.log(`wrote ${REPORT_PATH}: ${api.exports.length} exports`);
for (const line of api.missingExamples) console.log(`no @example: ${line}`);
for (const line of api.unexportedReferences) console.log(`names an unexported declaration: ${line}`);

// Preloaded into every test file (package.json "test"): a file that leaves a ref'd
// timer, socket or child process behind fails, instead of idling until it ends.
// Runs in the root after-hook, before the file's own after-hooks close their
// servers, so it waits GRACE_MS (unref'd: a clean file exits before it fires).
import { after } from "node:test";

const GRACE_MS = 5_000;
const EXPECTED = new Set(["PipeWrap", "TTYWrap"]);

after(() => {
  setTimeout(() => {
    const left = process.getActiveResourcesInfo().filter((name) => !EXPECTED.has(name));
    console.error(`leak guard: this test file keeps the process alive ${GRACE_MS} ms after its tests ended: ${left.join(", ")}`);
    process.exit(1);
  }, GRACE_MS).unref();
});

#!/usr/bin/env node
// The package.json that npm packs: without the "tessera-source" export condition, which points at
// src/*.ts for this checkout's tests and tools and at nothing in the tarball. npm has no
// publishConfig for "exports", so prepack rewrites package.json and postpack puts it back.
//   node scripts/pack-manifest.js strip     (prepack: keeps the original as package.json.prepack)
//   node scripts/pack-manifest.js restore   (postpack, or by hand after a failed pack)
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

const MANIFEST = new URL("../package.json", import.meta.url);
const BACKUP = new URL("../package.json.prepack", import.meta.url);
const CONDITION = "tessera-source";

function stripSourceCondition(manifest) {
  const exports = Object.fromEntries(
    Object.entries(manifest.exports).map(([subpath, conditions]) => [subpath, Object.fromEntries(Object.entries(conditions).filter(([name]) => name !== CONDITION))]),
  );
  return { ...manifest, exports };
}

const command = process.argv[2];
if (command === "strip") {
  // A backup left by a pack that died before postpack is the true original: keep it.
  if (!existsSync(BACKUP)) writeFileSync(BACKUP, readFileSync(MANIFEST));
  const manifest = JSON.parse(readFileSync(BACKUP, "utf8"));
  writeFileSync(MANIFEST, JSON.stringify(stripSourceCondition(manifest), null, 2) + "\n");
} else if (command === "restore") {
  if (existsSync(BACKUP)) renameSync(BACKUP, MANIFEST);
} else {
  process.stderr.write("usage: node scripts/pack-manifest.js strip|restore\n");
  process.exit(2);
}

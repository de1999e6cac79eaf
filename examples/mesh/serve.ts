// `npm run mesh`: the example mesh, running until Ctrl-C, for clients of your
// own (the Python examples in examples/python, grpcurl, buf curl...). Where
// everything listens and the clients' generated credentials are written to
// mesh.env in the mesh's temporary directory (mode 0600), for `source`; for
// tasks, the file of its workload token (TASKS_TOKEN_FILE). What the services
// log (Files: whose rights each read uses, and the act chain) goes to stdout.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMesh } from "./mesh.js";

const mesh = await startMesh({ files: [{ name: "launch-plan.md", content: new TextEncoder().encode("# Launch plan\n") }] });
const hostPort = (url: string) => url.replace(/^http:\/\//, "");
const lines = [
  "# The example mesh (npm run mesh). The credentials were generated at its start and die with it.",
  `export TESSERA=${mesh.tessera.issuer}`,
  `export GRPC=${mesh.tessera.grpcAddress}`,
  `export CALENDAR=${hostPort(mesh.calendarUrl)}`,
  `export FILES=${mesh.filesAddress}`,
  `export TASKS=${hostPort(mesh.tasksUrl)}`,
];
for (const [id, credential] of mesh.credentials) {
  const name = id.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  if ("secret" in credential) lines.push(`export ${name}_SECRET=${credential.secret}`);
  else if ("tokenFile" in credential) lines.push(`export ${name}_TOKEN_FILE=${credential.tokenFile}`);
  else lines.push(`export ${name}_KEY=${credential.keyFile}`, `export ${name}_KID=${credential.kid}`);
}
const envFile = join(mesh.dir, "mesh.env");
writeFileSync(envFile, `${lines.join("\n")}\n`, { mode: 0o600 });

console.log(`Tessera          ${mesh.tessera.httpUrl} (OAuth, Connect), ${mesh.tessera.grpcAddress} (gRPC)`);
console.log(`CalendarService  ${hostPort(mesh.calendarUrl)} (Connect; gRPC, gRPC-Web and Connect over h2c)`);
console.log(`FilesService     ${mesh.filesAddress} (grpc-js)`);
console.log(`TasksService     ${hostPort(mesh.tasksUrl)} (Connect)`);
console.log(`mesh ready: source ${envFile}`);
mesh.onServiceLog(({ service, line }) => console.log(`${service}: ${line}`));

await new Promise<void>((resolve) => {
  process.once("SIGINT", resolve);
  process.once("SIGTERM", resolve);
});
setTimeout(() => process.exit(1), 5000).unref(); // stopping is bounded too
await mesh.stop();

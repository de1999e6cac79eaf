// examples/quickstart/files-grpc.ts — a grpc-js service protected by the scopes in its proto.
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { remoteVerifier } from "tessera";
import { authServerInterceptor, bridgeService, refuseRepeatedAuthorization } from "tessera/grpc";
import { FilesService } from "../gen/example/files/v1/files_pb.js";
import { filesService } from "../mesh/files-service.js";

// Keys and revocations pushed by Tessera's streams, as this service's own client ("files"): no Redis here.
const verifier = remoteVerifier({
  issuer: process.env.TESSERA ?? "http://127.0.0.1:8080",
  credentials: { clientId: "files", auth: { method: "client_secret_basic", secret: process.env.SERVICE_SECRET ?? "" } },
});
await verifier.start();
const server = new Server({ interceptors: [authServerInterceptor({ verifier, services: [FilesService] })] });
const { definition, implementation } = bridgeService(FilesService, filesService());
server.addService(definition, implementation);
server.bindAsync(`127.0.0.1:${process.env.PORT ?? 50052}`, ServerCredentials.createInsecure(), (err, port) => {
  if (err) throw err;
  refuseRepeatedAuthorization(server);
  console.log(`files listening on 127.0.0.1:${port}`);
});

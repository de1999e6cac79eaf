// examples/quickstart/call-files.ts — a grpc-js client that sends the right token for each method.
import { credentials } from "@grpc/grpc-js";
import { clientCredentialsFetcher, TokenSource } from "tessera/client";
import { grpcClientConstructor, tokenClientInterceptor } from "tessera/grpc";
import { FilesService, type CreateFileResponse } from "../gen/example/files/v1/files_pb.js";

const issuer = process.env.TESSERA ?? "http://127.0.0.1:8080";
const target = process.env.FILES_ADDRESS ?? "127.0.0.1:50052";
const tokens = new TokenSource({
  fetch: clientCredentialsFetcher({
    tokenEndpoint: `${issuer}/oauth2/token`,
    clientId: process.env.CLIENT_ID ?? "tasks",
    auth: { method: "client_secret_basic", secret: process.env.CLIENT_SECRET ?? "" },
  }),
});
const FilesClient = grpcClientConstructor(FilesService);
const files = new FilesClient(target, credentials.createInsecure(), {
  interceptors: [tokenClientInterceptor({ tokens, services: [FilesService], channel: { target, tls: false } })],
});

files.CreateFile({ name: "notes.txt", content: Buffer.from("hello") }, (err: Error | null, res: CreateFileResponse) => {
  if (err) throw err;
  console.log(`created ${res.file?.id} named ${res.file?.name}`);
  files.close();
});

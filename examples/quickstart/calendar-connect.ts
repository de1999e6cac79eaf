// examples/quickstart/calendar-connect.ts — a Connect service protected by the scopes in its proto.
import { createServer } from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { remoteVerifier } from "tessera";
import { authContextValues, protect } from "tessera/connect";
import { CalendarService } from "../gen/example/calendar/v1/calendar_pb.js";
import { calendarConnect } from "../mesh/calendar-service.js";

// Keys and revocations pushed by Tessera's streams, as this service's own client ("calendar"): no Redis here.
const verifier = remoteVerifier({
  issuer: process.env.TESSERA ?? "http://127.0.0.1:8080",
  credentials: { clientId: "calendar", auth: { method: "client_secret_basic", secret: process.env.SERVICE_SECRET ?? "" } },
});
await verifier.start();
const routes = protect(verifier, (router) => router.service(CalendarService, calendarConnect()));
const server = createServer(connectNodeAdapter({ routes, contextValues: (req) => authContextValues(req) })).listen(
  Number(process.env.PORT ?? 50051),
  "127.0.0.1",
  () => {
    console.log(`calendar listening on http://127.0.0.1:${(server.address() as { port: number }).port}`);
  },
);

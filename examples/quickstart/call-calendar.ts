// examples/quickstart/call-calendar.ts — a Connect client that sends the right token for each method.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { clientCredentialsFetcher, TokenSource } from "tessera/client";
import { tokenInterceptor } from "tessera/connect";
import { CalendarService } from "../gen/example/calendar/v1/calendar_pb.js";

const issuer = process.env.TESSERA ?? "http://127.0.0.1:8080";
const tokens = new TokenSource({
  fetch: clientCredentialsFetcher({
    tokenEndpoint: `${issuer}/oauth2/token`,
    clientId: process.env.CLIENT_ID ?? "tasks",
    auth: { method: "client_secret_basic", secret: process.env.CLIENT_SECRET ?? "" },
  }),
});
const transport = createConnectTransport({
  baseUrl: process.env.CALENDAR_URL ?? "http://127.0.0.1:50051",
  httpVersion: "2",
  interceptors: [tokenInterceptor({ tokens })],
});
const calendar = createClient(CalendarService, transport);

const { event } = await calendar.createEvent({ title: "Planning", startUnix: BigInt(Math.floor(Date.now() / 1000)) });
const { events } = await calendar.listEvents({});
console.log(`created ${event?.id} as ${event?.createdBy}; the calendar holds ${events.length} event(s)`);

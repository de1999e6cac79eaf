import { TokenService } from "../../gen/tessera/v1/token_service_pb.js";
import { grpcJsClient } from "../../test/helpers/grpc-client.js";
import { BENCH_CLIENT, basicAuthorization } from "./bench-clients.js";
import { runConcurrent } from "./load.js";

/** `count` distinct tokens from a Tessera's IssueToken (grpc-js listener), for the bench client. */
export async function issueTokens(grpcAddress: string, count: number, request: { resource?: string; audience?: string; scopes: string[] }): Promise<string[]> {
  const client = grpcJsClient(TokenService, grpcAddress);
  const metadata = { authorization: basicAuthorization(BENCH_CLIENT) };
  const tokens: string[] = new Array<string>(count);
  try {
    const result = await runConcurrent(count, 32, 120_000, async (i) => {
      tokens[i] = (await client.unary("issueToken", request, { metadata })).accessToken;
    });
    if (result.errors > 0 || result.ok !== count) throw new Error(`issuing ${count} tokens: ${result.errors} errors (${result.firstError})`);
    return tokens;
  } finally {
    client.close();
  }
}

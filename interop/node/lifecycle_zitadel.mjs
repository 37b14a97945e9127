// npm `@zitadel/client` against pats-sim: the PAT lifecycle through the SDK's service clients,
// the user service v2 (AddPersonalAccessToken, ListPersonalAccessTokens,
// RemovePersonalAccessToken) and the management service v1 (AddPersonalAccessToken,
// ListPersonalAccessTokens, GetPersonalAccessTokenByIDs, RemovePersonalAccessToken), over
// each transport the SDK builds:
//   grpc      createServerTransport (@zitadel/client/node): gRPC over HTTP/2 cleartext;
//   grpc-web  createClientTransport (@zitadel/client/web): gRPC-web over fetch (HTTP/1.1);
//   connect   the SDK's NewAuthorizationBearerInterceptor on a Connect JSON transport from
//             @connectrpc/connect-node, the library the SDK is built on (the SDK has no
//             helper for it, but its clients take any transport). Only for v2: ZITADEL serves
//             the v2 services with Connect, management v1 over gRPC, gRPC-web and REST.
// The SDK's only auth is a bearer token (ZITADEL_PAT); it has no JWT-profile or
// client-credentials flow (newSystemToken signs a system-API JWT, which is another thing).
//
// Configured only from ZITADEL_URL, ZITADEL_ORG_ID, ZITADEL_USER_ID and ZITADEL_PAT; every
// call carries x-zitadel-orgid.

import { createConnectTransport } from "@connectrpc/connect-node";
import { NewAuthorizationBearerInterceptor, timestampDate, timestampFromDate } from "@zitadel/client";
import { createServerTransport } from "@zitadel/client/node";
import { createManagementServiceClient } from "@zitadel/client/v1";
import { createUserServiceClient } from "@zitadel/client/v2";
import { createClientTransport } from "@zitadel/client/web";
import { Reporter, env, expect } from "./common.mjs";

const baseUrl = env("ZITADEL_URL");
const token = env("ZITADEL_PAT");
const userId = env("ZITADEL_USER_ID");
// zitadel.user.v2.PersonalAccessTokenFieldName PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE
const CREATED_DATE = 1;
const callOptions = { headers: { "x-zitadel-orgid": env("ZITADEL_ORG_ID") }, timeoutMs: 15000 };

const TRANSPORTS = {
  grpc: () => createServerTransport(token, { baseUrl }),
  "grpc-web": () => createClientTransport(token, { baseUrl }),
  connect: () =>
    createConnectTransport({
      baseUrl,
      httpVersion: "1.1",
      useBinaryFormat: false,
      interceptors: [NewAuthorizationBearerInterceptor(token)],
    }),
};

function expiry() {
  const date = new Date(Date.now() + 30 * 24 * 3600 * 1000);
  date.setUTCMilliseconds(0);
  return date;
}

async function v2Lifecycle(transportName) {
  const r = new Reporter(`node/@zitadel/client v2 ${transportName}`);
  const users = createUserServiceClient(TRANSPORTS[transportName]());
  const byUser = { filters: [{ filter: { case: "userIdFilter", value: { id: userId } } }] };
  const ids = (answer) => answer.result.map((t) => t.id);
  const expires = expiry();

  const created = await r.step(
    "create",
    () => users.addPersonalAccessToken({ userId, expirationDate: timestampFromDate(expires) }, callOptions),
    { check: (c) => expect(c.tokenId && c.token, `tokenId ${c.tokenId}, token ${c.token ? "set" : "missing"}`) },
  );
  const tokenId = created?.tokenId;
  const needs = created ? true : "create failed";
  await r.step("list", () => users.listPersonalAccessTokens(byUser, callOptions), {
    check: (l) => expect(ids(l).includes(tokenId), `${tokenId} not listed`),
    needs,
  });
  r.unsupported("get", "the user service v2 has no get for a PAT; list-filter selects it by tokenIdFilter");
  await r.step(
    "list-filter",
    () =>
      users.listPersonalAccessTokens({ filters: [{ filter: { case: "tokenIdFilter", value: { id: tokenId } } }] }, callOptions),
    {
      check: (l) => {
        expect(ids(l).length === 1 && ids(l)[0] === tokenId, `tokenIdFilter gave ${ids(l)}`);
        const got = timestampDate(l.result[0].expirationDate);
        expect(got.getTime() === expires.getTime(), `expirationDate ${got.toISOString()}, sent ${expires.toISOString()}`);
      },
      needs,
    },
  );
  await r.step(
    "list-page",
    () =>
      users.listPersonalAccessTokens(
        { ...byUser, pagination: { offset: 0n, limit: 1, asc: false }, sortingColumn: CREATED_DATE },
        callOptions,
      ),
    {
      check: (l) => {
        expect(l.result.length === 1, `limit 1 gave ${l.result.length} tokens`);
        expect((l.pagination?.totalResult ?? 0n) >= 1n, `totalResult is ${l.pagination?.totalResult}`);
        return `totalResult ${l.pagination.totalResult}`;
      },
      needs,
    },
  );
  const deleted = await r.step("delete", () => users.removePersonalAccessToken({ userId, tokenId }, callOptions), {
    check: (d) => expect(d.deletionDate !== undefined, "no deletionDate"),
    needs,
  });
  await r.step("list-gone", () => users.listPersonalAccessTokens(byUser, callOptions), {
    check: (l) => expect(!ids(l).includes(tokenId), `${tokenId} still listed`),
    needs: deleted ? true : "delete failed",
  });
}

async function v1Lifecycle(transportName) {
  const r = new Reporter(`node/@zitadel/client v1 ${transportName}`);
  const management = createManagementServiceClient(TRANSPORTS[transportName]());
  const ids = (answer) => answer.result.map((t) => t.id);
  const expires = expiry();

  const created = await r.step(
    "create",
    () => management.addPersonalAccessToken({ userId, expirationDate: timestampFromDate(expires) }, callOptions),
    { check: (c) => expect(c.tokenId && c.token, `tokenId ${c.tokenId}, token ${c.token ? "set" : "missing"}`) },
  );
  const tokenId = created?.tokenId;
  const needs = created ? true : "create failed";
  await r.step("list", () => management.listPersonalAccessTokens({ userId }, callOptions), {
    check: (l) => expect(ids(l).includes(tokenId), `${tokenId} not listed`),
    needs,
  });
  await r.step("get", () => management.getPersonalAccessTokenByIDs({ userId, tokenId }, callOptions), {
    check: (g) => {
      expect(g.token?.id === tokenId, `got ${g.token?.id}`);
      const got = timestampDate(g.token.expirationDate);
      expect(got.getTime() === expires.getTime(), `expirationDate ${got.toISOString()}, sent ${expires.toISOString()}`);
    },
    needs,
  });
  const deleted = await r.step("delete", () => management.removePersonalAccessToken({ userId, tokenId }, callOptions), {
    needs,
  });
  await r.step("list-gone", () => management.listPersonalAccessTokens({ userId }, callOptions), {
    check: (l) => expect(!ids(l).includes(tokenId), `${tokenId} still listed`),
    needs: deleted ? true : "delete failed",
  });
}

const auth = new Reporter("node/@zitadel/client");
auth.unsupported("auth:jwt-profile", "the SDK has no JWT-profile flow (only a bearer-token interceptor)");
auth.unsupported("auth:client-credentials", "the SDK has no client-credentials flow (only a bearer-token interceptor)");
for (const transport of ["connect", "grpc-web", "grpc"]) await v2Lifecycle(transport);
for (const transport of ["grpc-web", "grpc"]) await v1Lifecycle(transport);

// npm `sailpoint-api-client` against pats-sim: the PAT lifecycle on each API version this SDK
// has (v3, beta, v2024: `/{version}/personal-access-tokens`), with OAuth2 client credentials
// (the SDK's Configuration posts multipart/form-data to {SAIL_BASE_URL}/oauth/token) and with
// a static bearer token (Configuration({accessToken})).
//
// Configured only from SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET, which the SDK's
// Configuration reads from the environment itself when given no parameters.

import {
  Configuration,
  PersonalAccessTokensApi,
  PersonalAccessTokensBetaApi,
  PersonalAccessTokensV2024Api,
} from "sailpoint-api-client";
import { Reporter, env, expect, expectStatus, unique } from "./common.mjs";

// The request-parameter keys differ per version (generated names carry the version suffix).
const VERSIONS = [
  { version: "v3", Api: PersonalAccessTokensApi, create: "createPersonalAccessTokenRequest", patch: "jsonPatchOperation" },
  { version: "beta", Api: PersonalAccessTokensBetaApi, create: "createPersonalAccessTokenRequestBeta", patch: "jsonPatchOperationBeta" },
  { version: "v2024", Api: PersonalAccessTokensV2024Api, create: "createPersonalAccessTokenRequestV2024", patch: "jsonPatchOperationV2024" },
];
const LIFECYCLE = ["create", "list", "get", "list-filter", "list-owner", "update", "update-scope", "delete", "list-gone", "error-404", "auth:bearer"];

const idsOf = (response) => (response.data ?? []).map((t) => t.id);

async function lifecycle({ version, Api, create, patch }) {
  const r = new Reporter(`node/sailpoint-api-client ${version}`);
  // The constructor starts the token request; awaiting it here names a failure "auth".
  let configuration;
  const token = await r.step("auth:client-credentials", async () => {
    configuration = new Configuration();
    return configuration.accessToken;
  }, { check: (t) => expect(typeof t === "string" && t.length > 0, "no access token") });
  if (!token) {
    for (const op of LIFECYCLE) r.skipped(op, "no access token");
    return;
  }
  const api = new Api(configuration);
  const name = unique(`interop-node-${version}`);

  const created = await r.step(
    "create",
    () => api.createPersonalAccessToken({ [create]: { name, scope: ["sp:scopes:all"], accessTokenValiditySeconds: 3600 } }),
    { check: (c) => expect(c.data?.id && c.data?.secret && c.data?.name === name, `answer ${JSON.stringify(c.data)}`) },
  );
  const id = created?.data?.id;
  const needs = created ? true : "create failed";
  await r.step("list", () => api.listPersonalAccessTokens(), {
    check: (l) => expect(idsOf(l).includes(id), `${id} not listed`),
    needs,
  });
  r.unsupported("get", "the SDK has no get-by-id for PATs (the API has none); list and select");
  await r.step("list-filter", () => api.listPersonalAccessTokens({ filters: "lastUsed isnull" }), {
    check: (l) => expect(idsOf(l).includes(id), `${id} (never used) not listed`),
    needs,
  });
  const owner = created?.data?.owner?.id;
  await r.step("list-owner", () => api.listPersonalAccessTokens({ ownerId: owner }), {
    check: (l) => expect(idsOf(l).includes(id), `${id} not listed for its owner ${owner}`),
    needs: created && !owner ? "create answered no owner" : needs,
  });
  const renamed = `${name}-renamed`;
  await r.step(
    "update",
    () => api.patchPersonalAccessToken({ id, [patch]: [{ op: "replace", path: "/name", value: renamed }] }),
    { check: (u) => expect(u.data?.name === renamed, `name is ${u.data?.name}`), needs },
  );
  await r.step(
    "update-scope",
    () => api.patchPersonalAccessToken({ id, [patch]: [{ op: "replace", path: "/scope", value: ["sp:scopes:default"] }] }),
    { check: (u) => expect(JSON.stringify(u.data?.scope) === '["sp:scopes:default"]', `scope is ${JSON.stringify(u.data?.scope)}`), needs },
  );
  const deleted = await r.step("delete", () => api.deletePersonalAccessToken({ id }), {
    check: (d) => expect(d.status === 204, `status ${d.status}`),
    needs,
  });
  await r.step("list-gone", () => api.listPersonalAccessTokens(), {
    check: (l) => expect(!idsOf(l).includes(id), `${id} still listed`),
    needs: deleted ? true : "delete failed",
  });
  await r.step("error-404", () => expectStatus(404, () => api.deletePersonalAccessToken({ id })), {
    check: (d) => d,
    needs: deleted ? true : "delete failed",
  });
  await r.step(
    "auth:bearer",
    () => new Api(new Configuration({ baseurl: env("SAIL_BASE_URL"), accessToken: token })).listPersonalAccessTokens(),
    { check: (l) => expect(Array.isArray(l.data), "not a list") },
  );
}

env("SAIL_BASE_URL");
env("SAIL_CLIENT_ID");
env("SAIL_CLIENT_SECRET");
for (const version of VERSIONS) await lifecycle(version);

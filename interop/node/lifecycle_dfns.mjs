// npm `@dfns/sdk` + `@dfns/sdk-keysigner` against pats-sim: the PAT lifecycle with User
// Action Signing done by the SDK (DfnsApiClient with an AsymmetricKeySigner), then the
// delegated two-step flow (DfnsDelegatedApiClient: *Init, sign the challenge ourselves with
// the same signer, *Complete).
//
// Configured only from DFNS_BASE_URL, DFNS_ORG_ID, DFNS_AUTH_TOKEN, DFNS_CRED_ID and
// DFNS_PRIVATE_KEY. The org id is passed to the SDK, which then checks before every request
// that the auth token is a JWT scoped to that org (claim https://custom/app_metadata.orgId).

import { generateKeyPairSync } from "node:crypto";
import { DfnsApiClient, DfnsDelegatedApiClient } from "@dfns/sdk";
import { AsymmetricKeySigner } from "@dfns/sdk-keysigner";
import { Reporter, adminPost, env, expect, expectStatus, unique } from "./common.mjs";

function newPublicKeyPem() {
  const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return publicKey.export({ type: "spki", format: "pem" });
}

const idsOf = (listing) => (listing?.items ?? []).map((item) => item.tokenId);

/** After DELETE (an archive), the token is either absent from the listing or listed inactive. */
function gone(listing, tokenId) {
  const item = (listing?.items ?? []).find((i) => i.tokenId === tokenId);
  if (!item) return "absent";
  expect(item.isActive === false, `${tokenId} is still listed and active`);
  return "listed, inactive";
}

async function signedLifecycle(options, signer) {
  const r = new Reporter("node/@dfns/sdk");
  const client = new DfnsApiClient({ ...options, signer });
  const name = unique("interop-node");
  const created = await r.step(
    "create",
    () =>
      client.auth.createPersonalAccessToken({
        body: { name, publicKey: newPublicKeyPem(), daysValid: 30 },
      }),
    {
      check: (c) =>
        expect(c.tokenId && c.accessToken && c.name === name, `keys ${Object.keys(c).sort()}`),
    },
  );
  const tokenId = created?.tokenId;
  const needs = created ? true : "create failed";
  await r.step("list", () => client.auth.listPersonalAccessTokens(), {
    check: (l) => expect(idsOf(l).includes(tokenId), `${tokenId} not in the listing`),
    needs,
  });
  await r.step("get", () => client.auth.getPersonalAccessToken({ tokenId }), {
    check: (g) => expect(g.tokenId === tokenId && g.name === name, `got ${g.tokenId} ${g.name}`),
    needs,
  });
  const renamed = `${name}-renamed`;
  await r.step("update", () => client.auth.updatePersonalAccessToken({ tokenId, body: { name: renamed } }), {
    check: (u) => expect(u.name === renamed, `name is ${u.name}`),
    needs,
  });
  await r.step("deactivate", () => client.auth.deactivatePersonalAccessToken({ tokenId }), {
    check: (d) => expect(d.isActive === false, `isActive is ${d.isActive}`),
    needs,
  });
  await r.step("activate", () => client.auth.activatePersonalAccessToken({ tokenId }), {
    check: (a) => expect(a.isActive === true, `isActive is ${a.isActive}`),
    needs,
  });
  const deleted = await r.step("delete", () => client.auth.archivePersonalAccessToken({ tokenId }), { needs });
  await r.step("list-gone", () => client.auth.listPersonalAccessTokens(), {
    check: (l) => gone(l, tokenId),
    needs: deleted ? true : "delete failed",
  });

  await r.step("error-404", () => expectStatus(404, () => client.auth.getPersonalAccessToken({ tokenId: "to-0000-0000-interop" })), {
    check: (d) => d,
  });

  // A name outside ASCII: the signed payload and the sent body must still be the same bytes.
  const accented = unique("interop-node-\u00e9t\u00e9");
  await r.step(
    "create-non-ascii",
    () => client.auth.createPersonalAccessToken({ body: { name: accented, publicKey: newPublicKeyPem() } }),
    { check: (c) => expect(c.name === accented, `name is ${c.name}`) },
  );
}

async function delegatedLifecycle(options, signer) {
  const r = new Reporter("node/@dfns/sdk delegated");
  const client = new DfnsDelegatedApiClient(options);
  const name = unique("interop-node-delegated");
  const signed = async (challenge) => ({
    challengeIdentifier: challenge.challengeIdentifier,
    firstFactor: await signer.sign(challenge),
  });
  const twoStep = async (init, complete, request) => {
    const challenge = await client.auth[init](request);
    return client.auth[complete](request, await signed(challenge));
  };

  const body = { name, publicKey: newPublicKeyPem(), secondsValid: 3600 };
  const created = await r.step(
    "create",
    () => twoStep("createPersonalAccessTokenInit", "createPersonalAccessTokenComplete", { body }),
    { check: (c) => expect(c.tokenId && c.accessToken, `keys ${Object.keys(c).sort()}`) },
  );
  const tokenId = created?.tokenId;
  const needs = created ? true : "create failed";
  await r.step("list", () => client.auth.listPersonalAccessTokens(), {
    check: (l) => expect(idsOf(l).includes(tokenId), `${tokenId} not in the listing`),
    needs,
  });
  const renamed = `${name}-renamed`;
  await r.step(
    "update",
    () =>
      twoStep("updatePersonalAccessTokenInit", "updatePersonalAccessTokenComplete", {
        tokenId,
        body: { name: renamed },
      }),
    { check: (u) => expect(u.name === renamed, `name is ${u.name}`), needs },
  );
  await r.step(
    "deactivate",
    () => twoStep("deactivatePersonalAccessTokenInit", "deactivatePersonalAccessTokenComplete", { tokenId }),
    { check: (d) => expect(d.isActive === false, `isActive is ${d.isActive}`), needs },
  );
  await r.step(
    "activate",
    () => twoStep("activatePersonalAccessTokenInit", "activatePersonalAccessTokenComplete", { tokenId }),
    { check: (a) => expect(a.isActive === true, `isActive is ${a.isActive}`), needs },
  );
  const deleted = await r.step(
    "delete",
    () => twoStep("archivePersonalAccessTokenInit", "archivePersonalAccessTokenComplete", { tokenId }),
    { needs },
  );
  await r.step("list-gone", () => client.auth.listPersonalAccessTokens(), {
    check: (l) => gone(l, tokenId),
    needs: deleted ? true : "delete failed",
  });
}

/**
 * The SDK's own signer with a key made here: only its public half is registered with the
 * emulator (`POST /_pats_sim/users`), as a Dfns user registers a credential; the SDK signs
 * every change with the private half.
 */
async function ownKey(options) {
  const r = new Reporter("node/@dfns/sdk own-key");
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const credId = unique("cr-interop-node");
  const user = await r.step(
    "register-credential",
    () => adminPost(options.baseUrl, "users", { credentialId: credId, publicKey: publicKey.export({ type: "spki", format: "pem" }) }),
    { check: (u) => expect(u.authToken && !("privateKey" in u), `keys ${Object.keys(u)}`) },
  );
  const needs = user ? true : "registering the credential failed";
  const signer = new AsymmetricKeySigner({ credId, privateKey: privateKey.export({ type: "pkcs8", format: "pem" }) });
  const client = user && new DfnsApiClient({ ...options, authToken: user.authToken, signer });
  const name = unique("interop-node-own");
  const created = await r.step(
    "create",
    () => client.auth.createPersonalAccessToken({ body: { name, publicKey: newPublicKeyPem() } }),
    { check: (c) => expect(c.name === name, `name is ${c.name}`), needs },
  );
  await r.step("delete", () => client.auth.archivePersonalAccessToken({ tokenId: created.tokenId }), {
    needs: created ? true : "create failed",
  });
}

const options = {
  baseUrl: env("DFNS_BASE_URL"),
  orgId: env("DFNS_ORG_ID"),
  authToken: env("DFNS_AUTH_TOKEN"),
};
const signer = new AsymmetricKeySigner({ credId: env("DFNS_CRED_ID"), privateKey: env("DFNS_PRIVATE_KEY") });
await signedLifecycle(options, signer);
await delegatedLifecycle(options, signer);
await ownKey(options);

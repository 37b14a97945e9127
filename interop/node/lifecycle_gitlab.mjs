// npm `@gitbeaker/rest` against pats-sim: the personal access token lifecycle on GitLab's
// REST API v4 (under {GITLAB_BASE_URL}/api/v4) through the SDK's PersonalAccessTokens
// resource: create(userId, …) (POST /users/:user_id/personal_access_tokens, as an
// administrator), all(filters and pagination), show({tokenId}) and show() (the token itself,
// /personal_access_tokens/self), remove({tokenId}), rotate(tokenId) and rotate("self").
//
// Listing follows the SDK's offset pagination: without `page` it walks the
// `Link: rel="next"` URLs (stopping at `maxPages`), and `showExpanded` returns the X-Page,
// X-Next-Page, X-Prev-Page, X-Per-Page, X-Total and X-Total-Pages headers as paginationInfo.
//
// Configured only from GITLAB_BASE_URL and GITLAB_TOKEN (an administrator's token, scope
// api); the users and tokens it needs besides are made through the emulator's admin API.

import { Gitlab, GitbeakerRequestError } from "@gitbeaker/rest";
import { CheckFailed, Reporter, adminPost, env, expect, expectStatus, statusOf, unique } from "./common.mjs";

const SDK = "node/@gitbeaker/rest";
const LIFECYCLE = ["create", "list", "get", "get-self", "list-owner", "list-filter", "list-state", "list-page",
  "list-all", "rotate", "rotate-self", "delete", "list-gone", "list-revoked", "error-401", "error-404", "error-400"];
const PAGED = 5; // tokens of the paging user: three pages of two

const baseUrl = env("GITLAB_BASE_URL");
const gl = new Gitlab({ host: baseUrl, token: env("GITLAB_TOKEN") });
const asToken = (value) => new Gitlab({ host: baseUrl, token: value });
const idsOf = (tokens) => tokens.map((t) => t.id);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const r = new Reporter(SDK);

let userId;
try {
  userId = (await adminPost(baseUrl, "users", { username: unique("interop-node") })).userId;
} catch (error) {
  for (const op of LIFECYCLE) r.skipped(op, `the admin API made no user: ${error.message}`);
  process.exit(0);
}
const name = unique("interop-node-pat");
const expires = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);

const created = await r.step("create", () => gl.PersonalAccessTokens.create(userId, name, ["api", "read_user"], { expiresAt: expires }), {
  check: (c) => {
    expect(same([c.name, c.user_id, c.scopes, c.expires_at], [name, userId, ["api", "read_user"], expires]), `answer ${JSON.stringify({ ...c, token: undefined })}`);
    expect(c.token?.startsWith("glpat-"), "no glpat- token in the answer");
  },
});
const id = created?.id;
const needs = created ? true : "create failed";

await r.step("list", () => gl.PersonalAccessTokens.all(), {
  check: (l) => expect(idsOf(l).includes(id), `${id} not listed`),
  needs,
});
const checkGot = (t) =>
  expect(same([t.id, t.name, t.user_id, t.active, t.revoked], [id, name, userId, true, false]), `answer ${JSON.stringify(t)}`);
await r.step("get", () => gl.PersonalAccessTokens.show({ tokenId: id }), { check: checkGot, needs });
await r.step("get-self", () => asToken(created.token).PersonalAccessTokens.show(), { check: checkGot, needs });
await r.step("list-owner", () => gl.PersonalAccessTokens.all({ userId }), {
  check: (l) => expect(same(idsOf(l), [id]), `userId=${userId} gave ${idsOf(l)}`),
  needs,
});
await r.step("list-filter", () => gl.PersonalAccessTokens.all({ search: name }), {
  check: (l) => expect(same(idsOf(l), [id]), `search=${name} gave ${idsOf(l)}`),
  needs,
});
await r.step(
  "list-state",
  async () => [await gl.PersonalAccessTokens.all({ userId, state: "active" }), await gl.PersonalAccessTokens.all({ userId, state: "inactive" })],
  { check: ([active, inactive]) => expect(same([idsOf(active), idsOf(inactive)], [[id], []]), `active ${idsOf(active)}, inactive ${idsOf(inactive)}`), needs },
);

// Pagination: a user with PAGED tokens, two a page, in id order.
let pager;
let paged = [];
let paging = true;
try {
  pager = (await adminPost(baseUrl, "users", { username: unique("interop-node-pages") })).userId;
  for (let i = 0; i < PAGED; i += 1) paged.push((await adminPost(baseUrl, `users/${pager}/tokens`, { name: `page-${i}` })).id);
} catch (error) {
  paging = `the admin API made no tokens: ${error.message}`;
}
await r.step("list-page", () => gl.PersonalAccessTokens.all({ userId: pager, page: 2, perPage: 2, showExpanded: true }), {
  check: ({ data, paginationInfo: p }) => {
    expect(same(idsOf(data), paged.slice(2, 4)), `page 2 holds ${idsOf(data)}, not ${paged.slice(2, 4)}`);
    const got = [p.current, p.perPage, p.next, p.previous, p.total, p.totalPages];
    expect(same(got, [2, 2, 3, 1, PAGED, 3]), `X-Page/Per-Page/Next/Prev/Total/Total-Pages are ${got}`);
  },
  needs: paging,
});
// Without `page` the SDK follows Link rel="next" to the end, or for `maxPages` pages.
await r.step(
  "list-all",
  async () => [await gl.PersonalAccessTokens.all({ userId: pager, perPage: 2 }), await gl.PersonalAccessTokens.all({ userId: pager, perPage: 2, maxPages: 2 })],
  {
    check: ([all, two]) => {
      expect(same(idsOf(all), paged), `three pages gave ${idsOf(all)}, not ${paged}`);
      expect(same(idsOf(two), paged.slice(0, 4)), `maxPages 2 gave ${idsOf(two)}`);
    },
    needs: paging,
  },
);

// Rotation by id, as an administrator: the old value answers 401, the new one works.
await r.step(
  "rotate",
  async () => {
    const old = await adminPost(baseUrl, `users/${userId}/tokens`, { name: unique("interop-node-rotate") });
    const fresh = await gl.PersonalAccessTokens.rotate(old.id);
    expect(fresh.id !== old.id && fresh.token !== old.token, `answer ${JSON.stringify({ ...fresh, token: undefined })}`);
    await expectStatus(401, () => asToken(old.token).PersonalAccessTokens.show());
    expect((await gl.PersonalAccessTokens.show({ tokenId: old.id })).revoked === true, `${old.id} not revoked`);
    const me = await asToken(fresh.token).PersonalAccessTokens.show();
    expect(me.id === fresh.id && me.active === true, `the new token is ${JSON.stringify(me)}`);
    return `${old.id} -> ${fresh.id}`;
  },
  { check: (detail) => detail, needs },
);

// Self-rotation: a token with scopes api and self_rotate rotates itself (rotate("self")).
await r.step(
  "rotate-self",
  async () => {
    const old = await adminPost(baseUrl, `users/${userId}/tokens`, { name: unique("interop-node-self"), scopes: ["api", "self_rotate"] });
    const own = asToken(old.token);
    const fresh = await own.PersonalAccessTokens.rotate("self");
    expect(fresh.id !== old.id && same(fresh.scopes, ["api", "self_rotate"]), `answer ${JSON.stringify({ ...fresh, token: undefined })}`);
    await expectStatus(401, () => own.PersonalAccessTokens.show());
    const me = await asToken(fresh.token).PersonalAccessTokens.show();
    expect(me.id === fresh.id, `the new token is ${JSON.stringify(me)}`);
    return `${old.id} -> ${fresh.id}`;
  },
  { check: (detail) => detail, needs },
);

const deleted = await r.step("delete", () => gl.PersonalAccessTokens.remove({ tokenId: id }), { needs });
// GitLab keeps a revoked token: inactive, revoked, no longer among the active ones.
await r.step(
  "list-gone",
  async () => {
    const active = idsOf(await gl.PersonalAccessTokens.all({ userId, state: "active" }));
    const inactive = idsOf(await gl.PersonalAccessTokens.all({ userId, state: "inactive" }));
    const token = await gl.PersonalAccessTokens.show({ tokenId: id });
    expect(!active.includes(id) && inactive.includes(id), `active ${active}, inactive ${inactive}`);
    expect(token.revoked === true && token.active === false, `show answers ${JSON.stringify(token)}`);
  },
  { needs: deleted ? true : "delete failed" },
);
await r.step("list-revoked", () => gl.PersonalAccessTokens.all({ userId, revoked: true }), {
  check: (l) => {
    expect(idsOf(l).includes(id), `revoked: true gave ${idsOf(l)}`);
    expect(l.every((t) => t.revoked === true), `not all revoked: ${JSON.stringify(l.map((t) => [t.id, t.revoked]))}`);
  },
  needs: deleted ? true : "delete failed",
});

// Errors: the SDK's GitbeakerRequestError, the status on its cause's Response, GitLab's message.
const error = (status, message, call) => async () => {
  try {
    await call();
  } catch (e) {
    if (!(e instanceof GitbeakerRequestError)) throw new CheckFailed(`expected GitbeakerRequestError (${status}), got ${e?.name}: ${e?.message}`);
    expect(statusOf(e) === status && e.message === message, `${e.name} with status ${statusOf(e)}: ${e.message}`);
    return `${e.name}: ${statusOf(e)} ${e.message}`;
  }
  throw new CheckFailed(`expected GitbeakerRequestError (${status}), the call succeeded`);
};
await r.step("error-401", error(401, "401 Unauthorized", () => asToken("glpat-not-a-token").PersonalAccessTokens.all()), { check: (d) => d });
await r.step("error-404", error(404, "404 Token Not Found", () => gl.PersonalAccessTokens.show({ tokenId: 2 ** 31 - 1 })), { check: (d) => d });
await r.step(
  "error-400",
  error(400, "scopes does not have a valid value", () => gl.PersonalAccessTokens.create(userId, unique("bad"), ["nope"])),
  { check: (d) => d },
);

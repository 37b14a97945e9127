"""Python `python-gitlab` against pats-sim: the personal access token lifecycle on GitLab's
REST API v4 (under {GITLAB_BASE_URL}/api/v4), with the SDK's own managers:
`gl.users.get(id, lazy=True).personal_access_tokens.create` (POST
/users/:user_id/personal_access_tokens, as an administrator), `gl.personal_access_tokens`
.list / .get (`"self"` for /personal_access_tokens/self) / .delete / .rotate, and a token
object's `rotate(self_rotate=True)` (POST /personal_access_tokens/self/rotate).

Listing follows the SDK's pagination: `get_all=True` walks the `Link: rel="next"` URLs,
`iterator=True` exposes X-Page, X-Per-Page, X-Next-Page, X-Total and X-Total-Pages.

Configured only from GITLAB_BASE_URL and GITLAB_TOKEN (an administrator's token, scope
api); the users and tokens it needs besides are made through the emulator's admin API.
"""

import warnings
from datetime import date, timedelta

import gitlab

from common import CheckFailed, Reporter, admin_post, env, expect, expect_status, unique

SDK = "python/python-gitlab"
LIFECYCLE = ("create", "list", "get", "get-self", "list-owner", "list-filter", "list-state", "list-page",
             "list-all", "rotate", "rotate-self", "delete", "list-gone", "list-revoked", "error-401", "error-404", "error-400")
PAGED = 5  # tokens of the paging user: three pages of two


def ids_of(tokens):
    return [t.id for t in tokens]


def main():
    base_url = env("GITLAB_BASE_URL")
    admin_token = env("GITLAB_TOKEN")
    r = Reporter(SDK)
    gl = gitlab.Gitlab(url=base_url, private_token=admin_token)

    def as_token(value):
        return gitlab.Gitlab(url=base_url, private_token=value)

    try:
        user_id = admin_post(base_url, "users", {"username": unique("interop-py")})["userId"]
    except Exception as error:  # noqa: BLE001 - the admin API is not the SDK: name it and stop
        for op in LIFECYCLE:
            r.skipped(op, f"the admin API made no user: {error}")
        return
    name = unique("interop-py-pat")
    expires = (date.today() + timedelta(days=30)).isoformat()

    def check_created(c):
        expect((c.name, c.user_id, c.scopes, c.expires_at) == (name, user_id, ["api", "read_user"], expires),
               f"answer {c.attributes}")
        expect(c.token.startswith("glpat-"), f"token {c.token[:8]}…")

    created = r.step(
        "create",
        lambda: gl.users.get(user_id, lazy=True).personal_access_tokens.create(
            {"name": name, "scopes": ["api", "read_user"], "expires_at": expires}
        ),
        check=check_created,
    )
    token_id = created and created.id
    need = True if created else "create failed"

    r.step("list", lambda: gl.personal_access_tokens.list(get_all=True),
           check=lambda l: expect(token_id in ids_of(l), f"{token_id} not listed"), needs=need)

    def check_got(t):
        expect((t.id, t.name, t.user_id, t.active, t.revoked) == (token_id, name, user_id, True, False),
               f"answer {t.attributes}")

    r.step("get", lambda: gl.personal_access_tokens.get(token_id), check=check_got, needs=need)
    r.step("get-self", lambda: as_token(created.token).personal_access_tokens.get("self"), check=check_got, needs=need)
    r.step("list-owner", lambda: gl.personal_access_tokens.list(user_id=user_id, get_all=True),
           check=lambda l: expect(ids_of(l) == [token_id], f"user_id={user_id} gave {ids_of(l)}"), needs=need)
    r.step("list-filter", lambda: gl.personal_access_tokens.list(search=name, get_all=True),
           check=lambda l: expect(ids_of(l) == [token_id], f"search={name} gave {ids_of(l)}"), needs=need)
    r.step("list-state",
           lambda: (gl.personal_access_tokens.list(user_id=user_id, state="active", get_all=True),
                    gl.personal_access_tokens.list(user_id=user_id, state="inactive", get_all=True)),
           check=lambda l: expect((ids_of(l[0]), ids_of(l[1])) == ([token_id], []),
                                  f"active {ids_of(l[0])}, inactive {ids_of(l[1])}"),
           needs=need)

    # Pagination: a user with PAGED tokens, two a page, in id order.
    def paged_user():
        pager = admin_post(base_url, "users", {"username": unique("interop-py-pages")})["userId"]
        ids = [admin_post(base_url, f"users/{pager}/tokens", {"name": f"page-{i}"})["id"] for i in range(PAGED)]
        return pager, ids

    try:
        pager, paged = paged_user()
        paging = True
    except Exception as error:  # noqa: BLE001
        pager, paged, paging = None, [], f"the admin API made no tokens: {error}"

    # `page=` returns that page alone; `iterator=True` (which ignores `page`, and with it
    # requests that page again and again) reads the first page's X-* headers.
    def one_page():
        listing = gl.personal_access_tokens.list(user_id=pager, per_page=2, iterator=True)
        headers = (listing.current_page, listing.per_page, listing.next_page, listing.prev_page,
                   listing.total, listing.total_pages)
        return headers, ids_of(gl.personal_access_tokens.list(user_id=pager, page=2, per_page=2))

    def check_page(answer):
        headers, ids = answer
        expect(headers == (1, 2, 2, None, PAGED, 3), f"X-Page/Per-Page/Next/Prev/Total/Total-Pages are {headers}")
        expect(ids == paged[2:4], f"page 2 holds {ids}, not {paged[2:4]}")

    r.step("list-page", one_page, check=check_page, needs=paging)

    # get_all follows the Link header's rel="next" URLs; the SDK warns when their base URL is
    # not the one it was given (broken pagination behind a proxy): none may come.
    def every_page():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tokens = gl.personal_access_tokens.list(user_id=pager, per_page=2, get_all=True)
        base_url_warnings = [str(w.message) for w in caught if "base URL" in str(w.message)]
        expect(not base_url_warnings, f"the SDK warned: {base_url_warnings}")
        return tokens

    r.step("list-all", every_page,
           check=lambda l: expect(ids_of(l) == paged, f"three pages gave {ids_of(l)}, not {paged}"), needs=paging)

    # Rotation by id, as an administrator: the old value answers 401, the new one works.
    def rotate():
        old = admin_post(base_url, f"users/{user_id}/tokens", {"name": unique("interop-py-rotate")})
        new = gl.personal_access_tokens.rotate(old["id"])
        expect(new["id"] != old["id"] and new["token"] != old["token"], f"answer {new}")
        expect_status(401, lambda: as_token(old["token"]).personal_access_tokens.get("self"))
        expect(gl.personal_access_tokens.get(old["id"]).revoked, f"{old['id']} not revoked")
        me = as_token(new["token"]).personal_access_tokens.get("self")
        expect((me.id, me.active) == (new["id"], True), f"the new token is {me.attributes}")
        return f"{old['id']} -> {new['id']}"

    r.step("rotate", rotate, check=lambda detail: detail, needs=need)

    # Self-rotation: a token with scopes api and self_rotate rotates itself.
    def rotate_self():
        old = admin_post(base_url, f"users/{user_id}/tokens",
                         {"name": unique("interop-py-self"), "scopes": ["api", "self_rotate"]})
        own = as_token(old["token"])
        me = own.personal_access_tokens.get("self")
        new = me.rotate(self_rotate=True)
        expect(new["id"] != old["id"] and new["scopes"] == ["api", "self_rotate"], f"answer {new}")
        expect(me.id == new["id"] and me.token == new["token"], "the SDK did not update the rotated object")
        expect_status(401, lambda: own.personal_access_tokens.get("self"))
        again = as_token(new["token"]).personal_access_tokens.get("self")
        expect(again.id == new["id"], f"the new token is {again.attributes}")
        return f"{old['id']} -> {new['id']}"

    r.step("rotate-self", rotate_self, check=lambda detail: detail, needs=need)

    deleted = r.step("delete", lambda: gl.personal_access_tokens.delete(token_id), needs=need)

    # GitLab keeps a revoked token: inactive, revoked, no longer among the active ones.
    def gone():
        active = ids_of(gl.personal_access_tokens.list(user_id=user_id, state="active", get_all=True))
        inactive = ids_of(gl.personal_access_tokens.list(user_id=user_id, state="inactive", get_all=True))
        token = gl.personal_access_tokens.get(token_id)
        expect(token_id not in active and token_id in inactive, f"active {active}, inactive {inactive}")
        expect((token.revoked, token.active) == (True, False), f"get answers {token.attributes}")

    r.step("list-gone", gone, needs=True if deleted else "delete failed")

    # The revoked filter as a Python caller writes it: requests sends the bool as `revoked=True`.
    def check_revoked(tokens):
        expect(token_id in ids_of(tokens), f"revoked=True gave {ids_of(tokens)}")
        expect(all(t.revoked for t in tokens), f"not all revoked: {[(t.id, t.revoked) for t in tokens]}")

    r.step("list-revoked", lambda: gl.personal_access_tokens.list(user_id=user_id, revoked=True, get_all=True),
           check=check_revoked, needs=True if deleted else "delete failed")

    def error(status, kind, call):
        def run():
            try:
                call()
            except kind as e:
                expect(e.response_code == status, f"{type(e).__name__} with status {e.response_code}")
                return f"{type(e).__name__}: {e.response_code} {e.error_message}"
            except Exception as e:  # noqa: BLE001
                raise CheckFailed(f"expected {kind.__name__} ({status}), got {type(e).__name__}: {e}") from e
            raise CheckFailed(f"expected {kind.__name__} ({status}), the call succeeded")
        return run

    r.step("error-401", error(401, gitlab.GitlabAuthenticationError,
                              lambda: as_token("glpat-not-a-token").personal_access_tokens.list(get_all=True)),
           check=lambda detail: detail)
    r.step("error-404", error(404, gitlab.GitlabGetError, lambda: gl.personal_access_tokens.get(2**31 - 1)),
           check=lambda detail: detail)

    def bad_scope():
        gl.users.get(user_id, lazy=True).personal_access_tokens.create({"name": unique("bad"), "scopes": ["nope"]})

    def check_bad_scope(detail):
        expect("scopes does not have a valid value" in detail, detail)
        return detail

    r.step("error-400", error(400, gitlab.GitlabCreateError, bad_scope), check=check_bad_scope)


if __name__ == "__main__":
    main()

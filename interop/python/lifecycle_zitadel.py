"""Python `zitadel-client` against pats-sim: the PAT lifecycle on the user service v2
(JSON POSTs to /zitadel.user.v2.UserService/<Method>, the only PAT surface this SDK has),
once per auth flow the SDK offers: a PAT (Zitadel.with_access_token), client credentials
(with_client_credentials: OIDC discovery, then the token endpoint it names) and the JWT
profile key file (with_private_key: discovery, then an RS256 assertion grant).

Configured only from ZITADEL_URL, ZITADEL_ORG_ID, ZITADEL_USER_ID, ZITADEL_PAT,
ZITADEL_CLIENT_ID, ZITADEL_CLIENT_SECRET and ZITADEL_KEY_FILE. Every call carries
x-zitadel-orgid through the SDK's TransportOptions.default_headers.
"""

from datetime import datetime, timedelta, timezone

from zitadel_client import Zitadel
from zitadel_client.models import (
    UserServiceAddPersonalAccessTokenRequest,
    UserServicePaginationRequest,
    UserServicePersonalAccessTokenFieldName,
    UserServiceIDFilter,
    UserServiceListPersonalAccessTokensRequest,
    UserServicePersonalAccessTokensSearchFilter,
    UserServiceRemovePersonalAccessTokenRequest,
)
from zitadel_client.transport_options import TransportOptions

from common import Reporter, admin_post, env, expect, unique

LIFECYCLE = ("create", "list", "get", "list-filter", "list-page", "delete", "list-gone")


def by_user(user_id):
    return UserServiceListPersonalAccessTokensRequest(
        filters=[UserServicePersonalAccessTokensSearchFilter(user_id_filter=UserServiceIDFilter(id=user_id))]
    )


def by_token(token_id):
    return UserServiceListPersonalAccessTokensRequest(
        filters=[UserServicePersonalAccessTokensSearchFilter(token_id_filter=UserServiceIDFilter(id=token_id))]
    )


def ids_of(answer):
    return [t.id for t in (answer.result or [])]


def lifecycle(flow, connect):
    r = Reporter(f"python/zitadel-client v2 {flow}")
    user_id = env("ZITADEL_USER_ID")

    def authenticate():
        client = connect()
        # OAuth flows fetch their token lazily; ask for it here so a failure is named "auth".
        client.configuration.authenticator.get_auth_headers()
        return client

    client = r.step(f"auth:{flow}", authenticate)
    if not client:
        for op in LIFECYCLE:
            r.skipped(op, "auth failed")
        return
    users = client.users
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=30)

    created = r.step(
        "create",
        lambda: users.add_personal_access_token(
            UserServiceAddPersonalAccessTokenRequest(user_id=user_id, expiration_date=expires)
        ),
        check=lambda c: expect(c.token_id and c.token, f"tokenId/token missing: {c}"),
    )
    token_id = created and created.token_id
    need = True if created else "create failed"
    r.step("list", lambda: users.list_personal_access_tokens(by_user(user_id)),
           check=lambda l: expect(token_id in ids_of(l), f"{token_id} not listed"), needs=need)
    r.unsupported("get", "the user service v2 has no get for a PAT; list-filter selects it by tokenIdFilter")

    def check_filtered(answer):
        expect(ids_of(answer) == [token_id], f"tokenIdFilter gave {ids_of(answer)}")
        token = answer.result[0]
        expect(token.user_id == user_id, f"userId is {token.user_id}")
        expect(token.expiration_date == expires, f"expirationDate is {token.expiration_date}, sent {expires}")

    r.step("list-filter", lambda: users.list_personal_access_tokens(by_token(token_id)), check=check_filtered,
           needs=need)
    def paged():
        request = by_user(user_id)
        request.pagination = UserServicePaginationRequest(offset=0, limit=1, asc=False)
        request.sorting_column = UserServicePersonalAccessTokenFieldName.PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE
        return users.list_personal_access_tokens(request)

    def check_page(answer):
        expect(len(answer.result or []) == 1, f"limit 1 gave {len(answer.result or [])} tokens")
        total = int((answer.pagination and answer.pagination.total_result) or 0)
        expect(total >= 1, f"totalResult is {total}")
        return f"totalResult {total}"

    r.step("list-page", paged, check=check_page, needs=need)
    deleted = r.step(
        "delete",
        lambda: users.remove_personal_access_token(
            UserServiceRemovePersonalAccessTokenRequest(user_id=user_id, token_id=token_id)
        ),
        check=lambda d: expect(d.deletion_date is not None, "no deletionDate"),
        needs=need,
    )
    r.step("list-gone", lambda: users.list_personal_access_tokens(by_user(user_id)),
           check=lambda l: expect(token_id not in ids_of(l), f"{token_id} still listed"),
           needs=True if deleted else "delete failed")


def across_organizations(url):
    """Calls in an organization other than the caller's: the emulator's admin API creates an
    organization and a machine user in it; the SDK (authenticated with the admin PAT, whose
    user lives in the default organization) creates a token for that user with no
    organization header, as the v2 user service addresses users by id, and the instance-wide
    listing narrowed by an `organizationIdFilter` shows exactly that token."""
    r = Reporter("python/zitadel-client v2 other-org")
    org = r.step("create-org", lambda: admin_post(url, "orgs", {}),
                 check=lambda o: expect(o.get("orgId"), f"keys {sorted(o)}"))
    bot = org and r.step(
        "create-user",
        lambda: admin_post(url, "users", {"orgId": org["orgId"], "username": unique("interop-bot")}),
        check=lambda u: expect(u.get("userId"), f"keys {sorted(u)}"),
    )
    need = True if bot else "creating the organization or its user failed"
    users = Zitadel.with_access_token(url, env("ZITADEL_PAT")).users
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    created = r.step(
        "create",
        lambda: users.add_personal_access_token(
            UserServiceAddPersonalAccessTokenRequest(user_id=bot["userId"], expiration_date=expires)
        ),
        check=lambda c: expect(c.token_id, f"no tokenId: {c}"),
        needs=need,
    )

    def in_org():
        return users.list_personal_access_tokens(
            UserServiceListPersonalAccessTokensRequest(
                filters=[UserServicePersonalAccessTokensSearchFilter(
                    organization_id_filter=UserServiceIDFilter(id=org["orgId"])
                )]
            )
        )

    def check_org(answer):
        expect(ids_of(answer) == [created.token_id], f"organizationIdFilter gave {ids_of(answer)}")
        expect(answer.result[0].organization_id == org["orgId"], f"organizationId {answer.result[0].organization_id}")

    r.step("list-filter", in_org, check=check_org, needs=True if created else "create failed")


def main():
    url = env("ZITADEL_URL")
    options = TransportOptions(default_headers={"x-zitadel-orgid": env("ZITADEL_ORG_ID")})
    lifecycle("pat", lambda: Zitadel.with_access_token(url, env("ZITADEL_PAT"), transport_options=options))
    lifecycle(
        "client-credentials",
        lambda: Zitadel.with_client_credentials(
            url, env("ZITADEL_CLIENT_ID"), env("ZITADEL_CLIENT_SECRET"), transport_options=options
        ),
    )
    lifecycle("jwt-profile",
              lambda: Zitadel.with_private_key(url, env("ZITADEL_KEY_FILE"), transport_options=options))
    across_organizations(url)


if __name__ == "__main__":
    main()

"""Python `sailpoint` against pats-sim: the PAT lifecycle on the V1 API, the only PAT API this
SDK generation has (`/personal-access-tokens/v1`), with OAuth2 client credentials (the SDK's
Configuration posts a form-urlencoded body to {SAIL_BASE_URL}/oauth/token) and with a static
bearer token (ConfigurationParams.access_token).

The bulk update (`/personal-access-tokens/v1/bulk-update`) is for users only: its description
says "API OAuth client credentials are not permitted to call this endpoint" (security: userAuth
alone). So it logs in with the PAT it created (its id and secret as client id and secret at
/oauth/token, which makes a user's token), and checks that the API client is refused (403).

Configured only from SAIL_BASE_URL, SAIL_CLIENT_ID and SAIL_CLIENT_SECRET, which the SDK's
Configuration reads from the environment itself.
"""

from datetime import datetime, timedelta, timezone

from sailpoint import ApiClient, Configuration, ConfigurationParams, PersonalAccessTokensApi
from sailpoint.personal_access_tokens.models.array_inner import ArrayInner
from sailpoint.personal_access_tokens.models.bulk_update_personal_access_tokens_request import (
    BulkUpdatePersonalAccessTokensRequest,
)
from sailpoint.personal_access_tokens.models.create_personal_access_token_request import (
    CreatePersonalAccessTokenRequest,
)
from sailpoint.personal_access_tokens.models.json_patch_operation import JsonPatchOperation
from sailpoint.personal_access_tokens.models.json_patch_operation_value import JsonPatchOperationValue

from common import Reporter, env, expect, expect_status, unique

SDK = "python/sailpoint v1"


def main():
    env("SAIL_BASE_URL")
    env("SAIL_CLIENT_ID")
    env("SAIL_CLIENT_SECRET")
    r = Reporter(SDK)

    # The SDK fetches the token in the constructor and only prints (does not raise) when
    # that fails, leaving access_token None; check it here so the failure is named.
    configuration = r.step(
        "auth:client-credentials",
        Configuration,
        check=lambda c: expect(c.access_token, "the SDK got no access token from /oauth/token"),
    )
    if not configuration:
        for op in ("create", "list", "list-filter", "list-owner", "update", "update-scope", "bulk-update-api-client", "bulk-update", "delete", "list-gone", "create-never-expires", "error-404", "auth:bearer"):
            r.skipped(op, "no access token")
        return
    api = PersonalAccessTokensApi(ApiClient(configuration))
    name = unique("interop-py")
    expires = datetime.now(timezone.utc) + timedelta(days=30)

    created = r.step(
        "create",
        lambda: api.create_personal_access_token_v1(
            CreatePersonalAccessTokenRequest(
                name=name, scope=["sp:scopes:all"], access_token_validity_seconds=3600, expiration_date=expires
            )
        ),
        check=lambda c: expect(c.id and c.secret and c.name == name, f"id/secret/name missing: {c}"),
    )
    token_id = created and created.id
    need = True if created else "create failed"

    r.step("list", api.list_personal_access_tokens_v1,
           check=lambda l: expect(token_id in [t.id for t in l], f"{token_id} not listed"), needs=need)
    r.unsupported("get", "the SDK has no get-by-id for PATs (the API has none); list and select")
    r.step("list-filter", lambda: api.list_personal_access_tokens_v1(filters="lastUsed isnull"),
           check=lambda l: expect(token_id in [t.id for t in l], f"{token_id} (never used) not listed"), needs=need)
    r.step("list-owner", lambda: api.list_personal_access_tokens_v1(owner_id=created.owner.id),
           check=lambda l: expect(token_id in [t.id for t in l], f"{token_id} not listed for its owner"),
           needs=need if not created or created.owner else "create answered no owner")

    renamed = name + "-renamed"
    r.step(
        "update",
        lambda: api.patch_personal_access_token_v1(
            token_id, [JsonPatchOperation(op="replace", path="/name", value=JsonPatchOperationValue(renamed))]
        ),
        check=lambda u: expect(u.name == renamed, f"name is {u.name!r}"),
        needs=need,
    )
    # A list value must be wrapped in the SDK's ArrayInner (JsonPatchOperationValue refuses a
    # plain list of strings: no oneOf schema matches it).
    r.step(
        "update-scope",
        lambda: api.patch_personal_access_token_v1(
            token_id,
            [JsonPatchOperation(op="replace", path="/scope",
                                value=JsonPatchOperationValue([ArrayInner("sp:scopes:default")]))],
        ),
        check=lambda u: expect(u.scope == ["sp:scopes:default"], f"scope is {u.scope}"),
        needs=need,
    )
    later = (datetime.now(timezone.utc) + timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def bulk_request():
        return BulkUpdatePersonalAccessTokensRequest(
            ids=[token_id],
            patch=[JsonPatchOperation(op="replace", path="/expirationDate", value=JsonPatchOperationValue(later))],
        )

    # The API client's client-credentials token is refused, as the description says.
    r.step(
        "bulk-update-api-client",
        lambda: expect_status(403, lambda: api.update_bulk_personal_access_tokens_v1(bulk_request())),
        needs=need,
    )

    # A user's token: the PAT just created logs in with its id and secret.
    def bulk_as_user():
        params = ConfigurationParams()
        params.base_url = env("SAIL_BASE_URL")
        params.client_id = created.id
        params.client_secret = created.secret
        user = Configuration(params)
        expect(user.access_token, "the SDK got no access token for the PAT's id and secret")
        return PersonalAccessTokensApi(ApiClient(user)).update_bulk_personal_access_tokens_v1(bulk_request())

    def bulk_check(updated):
        expect([t.id for t in updated] == [token_id], f"answer lists {[t.id for t in updated]}")
        got = updated[0].expiration_date
        expect(got is not None and got.strftime("%Y-%m-%dT%H:%M:%S.000Z") == later,
               f"expirationDate is {got}, not {later}")

    r.step("bulk-update", bulk_as_user, check=bulk_check, needs=need)
    deleted = r.step("delete", lambda: api.delete_personal_access_token_v1(token_id), needs=need)
    r.step("list-gone", api.list_personal_access_tokens_v1,
           check=lambda l: expect(token_id not in [t.id for t in l], f"{token_id} still listed"),
           needs=True if deleted else "delete failed")

    # V1 takes a token that never expires when the caller says it knows (no expirationDate,
    # userAwareTokenNeverExpires true); the listing then shows it without an expiration.
    def never_listed(answer):
        listed = [t for t in api.list_personal_access_tokens_v1() if t.id == answer.id]
        expect(listed, f"{answer.id} not listed")
        expect(listed[0].expiration_date is None, f"listed with expirationDate {listed[0].expiration_date}")
        api.delete_personal_access_token_v1(answer.id)

    r.step(
        "create-never-expires",
        lambda: api.create_personal_access_token_v1(
            CreatePersonalAccessTokenRequest(name=unique("interop-py-never"), user_aware_token_never_expires=True)
        ),
        check=never_listed,
    )
    r.step("error-404", lambda: expect_status(404, lambda: api.delete_personal_access_token_v1(token_id)),
           needs=True if deleted else "delete failed")

    # A static bearer token: the SDK skips /oauth/token when it is given one.
    def bearer_list():
        params = ConfigurationParams()
        params.base_url = env("SAIL_BASE_URL")
        params.access_token = configuration.access_token
        return PersonalAccessTokensApi(ApiClient(Configuration(params))).list_personal_access_tokens_v1()

    r.step("auth:bearer", bearer_list, check=lambda l: expect(isinstance(l, list), "not a list"))


if __name__ == "__main__":
    main()

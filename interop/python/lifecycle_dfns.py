"""Python `dfns-sdk` against pats-sim: the PAT lifecycle with User Action Signing done by the
SDK (DfnsClient + KeySigner), then the delegated two-step flow (DfnsDelegatedClient:
*_init, sign the challenge ourselves with the SDK's KeySigner, *_complete).

Configured only from DFNS_BASE_URL, DFNS_AUTH_TOKEN, DFNS_CRED_ID and DFNS_PRIVATE_KEY.
"""

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from dfns_sdk import (
    DfnsClient,
    DfnsClientConfig,
    DfnsDelegatedClient,
    DfnsDelegatedClientConfig,
    KeySigner,
)

from common import Reporter, admin_post, env, expect, expect_status, unique


def new_public_key_pem():
    """The public half of a fresh P-256 key pair: what a PAT is bound to (`publicKey`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def ids_of(listing):
    return [item.get("tokenId") for item in (listing or {}).get("items", [])]


def gone(listing, token_id):
    """After DELETE (an archive), the token is either absent from the listing or listed inactive."""
    for item in (listing or {}).get("items", []):
        if item.get("tokenId") == token_id:
            expect(item.get("isActive") is False, f"{token_id} is still listed and active")
            return "listed, inactive"
    return "absent"


def signed_lifecycle(base_url, auth_token, signer):
    r = Reporter("python/dfns-sdk")
    client = DfnsClient(DfnsClientConfig(auth_token=auth_token, base_url=base_url, signer=signer))
    name = unique("interop-py")

    created = r.step(
        "create",
        lambda: client.auth.create_personal_access_token(
            {"name": name, "publicKey": new_public_key_pem(), "daysValid": 30}
        ),
        check=lambda c: expect(c.get("tokenId") and c.get("accessToken") and c.get("name") == name,
                               f"tokenId, accessToken and name {name!r} expected, got keys {sorted(c)}"),
    )
    token_id = created and created["tokenId"]
    need = True if created else "create failed"

    r.step("list", client.auth.list_personal_access_tokens,
           check=lambda l: expect(token_id in ids_of(l), f"{token_id} not in the listing"), needs=need)
    r.step("get", lambda: client.auth.get_personal_access_token(token_id),
           check=lambda g: expect(g.get("tokenId") == token_id and g.get("name") == name,
                                  f"got tokenId={g.get('tokenId')} name={g.get('name')}"), needs=need)
    renamed = name + "-renamed"
    r.step("update", lambda: client.auth.update_personal_access_token(token_id, {"name": renamed}),
           check=lambda u: expect(u.get("name") == renamed, f"name is {u.get('name')!r}"), needs=need)
    r.step("deactivate", lambda: client.auth.deactivate_personal_access_token(token_id),
           check=lambda d: expect(d.get("isActive") is False, f"isActive is {d.get('isActive')!r}"), needs=need)
    r.step("activate", lambda: client.auth.activate_personal_access_token(token_id),
           check=lambda a: expect(a.get("isActive") is True, f"isActive is {a.get('isActive')!r}"), needs=need)
    deleted = r.step("delete", lambda: client.auth.delete_personal_access_token(token_id), needs=need)
    r.step("list-gone", client.auth.list_personal_access_tokens,
           check=lambda l: gone(l, token_id), needs=True if deleted else "delete failed")

    r.step("error-404", lambda: expect_status(404, lambda: client.auth.get_personal_access_token("to-0000-0000-interop")))

    # A name outside ASCII: the signed payload and the sent body must still be the same bytes.
    accented = unique("interop-py-\u00e9t\u00e9")
    r.step(
        "create-non-ascii",
        lambda: client.auth.create_personal_access_token({"name": accented, "publicKey": new_public_key_pem()}),
        check=lambda c: expect(c.get("name") == accented, f"name is {c.get('name')!r}"),
    )
    client.close()


def delegated_lifecycle(base_url, auth_token, signer):
    r = Reporter("python/dfns-sdk delegated")
    client = DfnsDelegatedClient(DfnsDelegatedClientConfig(auth_token=auth_token, base_url=base_url))
    name = unique("interop-py-delegated")
    body = {"name": name, "publicKey": new_public_key_pem(), "secondsValid": 3600}

    def signed(challenge):
        return {"challengeIdentifier": challenge["challengeIdentifier"], "firstFactor": signer.sign(challenge)}

    def create():
        challenge = client.auth.create_personal_access_token_init(body)
        return client.auth.create_personal_access_token_complete(body, signed(challenge))

    created = r.step("create", create,
                     check=lambda c: expect(c.get("tokenId") and c.get("accessToken"), f"keys {sorted(c)}"))
    token_id = created and created["tokenId"]
    need = True if created else "create failed"
    r.step("list", client.auth.list_personal_access_tokens,
           check=lambda l: expect(token_id in ids_of(l), f"{token_id} not in the listing"), needs=need)

    def update():
        change = {"name": name + "-renamed"}
        challenge = client.auth.update_personal_access_token_init(token_id, change)
        return client.auth.update_personal_access_token_complete(token_id, change, signed(challenge))

    r.step("update", update, check=lambda u: expect(u.get("name") == name + "-renamed", f"name {u.get('name')!r}"),
           needs=need)

    def deactivate():
        challenge = client.auth.deactivate_personal_access_token_init(token_id)
        return client.auth.deactivate_personal_access_token_complete(token_id, signed(challenge))

    r.step("deactivate", deactivate, check=lambda d: expect(d.get("isActive") is False, "still active"), needs=need)

    def activate():
        challenge = client.auth.activate_personal_access_token_init(token_id)
        return client.auth.activate_personal_access_token_complete(token_id, signed(challenge))

    r.step("activate", activate, check=lambda a: expect(a.get("isActive") is True, "not active"), needs=need)

    def delete():
        challenge = client.auth.delete_personal_access_token_init(token_id)
        return client.auth.delete_personal_access_token_complete(token_id, signed(challenge))

    deleted = r.step("delete", delete, needs=need)
    r.step("list-gone", client.auth.list_personal_access_tokens,
           check=lambda l: gone(l, token_id), needs=True if deleted else "delete failed")
    client.close()


def own_signer(base_url):
    """The SDK's own signer with a key made here: only its public half is registered with the
    emulator (`POST /_pats_sim/users`), as a Dfns user registers a credential; the SDK signs
    every change with the private half."""
    r = Reporter("python/dfns-sdk own-key")
    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    credential_id = unique("cr-interop-py")
    user = r.step(
        "register-credential",
        lambda: admin_post(base_url, "users", {"credentialId": credential_id, "publicKey": public_pem}),
        check=lambda u: expect(u.get("authToken") and "privateKey" not in u, f"keys {sorted(u)}"),
    )
    need = True if user else "registering the credential failed"
    signer = KeySigner(credential_id=credential_id, private_key=private_pem)
    client = user and DfnsClient(DfnsClientConfig(auth_token=user["authToken"], base_url=base_url, signer=signer))
    name = unique("interop-py-own")
    created = r.step(
        "create",
        lambda: client.auth.create_personal_access_token({"name": name, "publicKey": new_public_key_pem()}),
        check=lambda c: expect(c.get("name") == name, f"name is {c.get('name')!r}"),
        needs=need,
    )
    token_id = created and created["tokenId"]
    r.step("delete", lambda: client.auth.delete_personal_access_token(token_id),
           needs=True if created else "create failed")
    if client:
        client.close()


def main():
    base_url = env("DFNS_BASE_URL")
    auth_token = env("DFNS_AUTH_TOKEN")
    signer = KeySigner(credential_id=env("DFNS_CRED_ID"), private_key=env("DFNS_PRIVATE_KEY"))
    signed_lifecycle(base_url, auth_token, signer)
    delegated_lifecycle(base_url, auth_token, signer)
    own_signer(base_url)


if __name__ == "__main__":
    main()

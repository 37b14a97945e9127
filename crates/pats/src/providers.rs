//! Building each enabled provider's client from its configuration.

use crate::config::*;
use pats_core::{ClientOptions, Error, PersonalAccessTokens, Result};

#[cfg(feature = "dfns")]
pub(crate) fn dfns(
    c: &DfnsConfig,
    options: ClientOptions,
) -> Result<Box<dyn PersonalAccessTokens>> {
    use pats_dfns::{DfnsClient, P256Signer};
    use secrecy::SecretString;
    let key = match (&c.private_key, &c.private_key_file) {
        (Some(key), _) => key.clone(),
        (None, Some(path)) => SecretString::from(
            pats_core::files::read_to_string(path)
                .map_err(|e| Error::invalid("private_key_file", e.to_string()))?,
        ),
        (None, None) => {
            return Err(Error::invalid(
                "private_key",
                "give the signing key as `private_key` or `private_key_file`",
            ));
        }
    };
    let signer = P256Signer::from_pkcs8_pem(c.credential_id.clone(), &key)?;
    let mut builder = DfnsClient::builder()
        .auth_token(c.auth_token.clone())
        .signer(signer)
        .options(options);
    if let Some(url) = &c.base_url {
        builder = builder.base_url(url.clone());
    }
    Ok(Box::new(builder.build()?))
}

#[cfg(feature = "zitadel")]
pub(crate) fn zitadel(
    c: &ZitadelConfig,
    options: ClientOptions,
) -> Result<Box<dyn PersonalAccessTokens>> {
    use pats_zitadel::{ApiVersion, ZitadelAuth, ZitadelClient};
    let auth = match (&c.pat, &c.key_file, &c.client_id, &c.client_secret) {
        (Some(pat), _, _, _) => ZitadelAuth::pat(pat.clone()),
        (None, Some(path), _, _) => ZitadelAuth::key_file_path(path)?,
        (None, None, Some(id), Some(secret)) => {
            ZitadelAuth::client_credentials(id.clone(), secret.clone())
        }
        (None, None, Some(_), None) => {
            return Err(Error::invalid(
                "client_secret",
                "give the machine user's client secret with `client_id`",
            ));
        }
        (None, None, None, _) => {
            return Err(Error::invalid(
                "pat",
                "give a PAT (`pat`), a key file (`key_file`), or `client_id` and `client_secret`",
            ));
        }
    };
    let api = match c.api.unwrap_or_default() {
        ZitadelApi::V2 => ApiVersion::V2,
        ZitadelApi::V1 => ApiVersion::V1,
    };
    let mut builder = ZitadelClient::builder()
        .base_url(c.base_url.clone())
        .auth(auth)
        .api_version(api)
        .options(options);
    if let Some(org) = &c.organization_id {
        builder = builder.organization(org.clone());
    }
    if let Some(user) = &c.user_id {
        builder = builder.default_user(user.clone());
    }
    Ok(Box::new(builder.build()?))
}

#[cfg(feature = "sailpoint")]
pub(crate) fn sailpoint(
    c: &SailPointConfig,
    options: ClientOptions,
) -> Result<Box<dyn PersonalAccessTokens>> {
    use pats_sailpoint::{ApiVersion, SailPointClient};
    let version = match c.api_version.unwrap_or_default() {
        SailPointApiVersion::V3 => ApiVersion::V3,
        SailPointApiVersion::Beta => ApiVersion::Beta,
        SailPointApiVersion::V2024 => ApiVersion::V2024,
        SailPointApiVersion::V2025 => ApiVersion::V2025,
        SailPointApiVersion::V2026 => ApiVersion::V2026,
        SailPointApiVersion::V1 => ApiVersion::V1,
    };
    let mut builder = SailPointClient::builder()
        .base_url(c.base_url.clone())
        .api_version(version)
        .options(options);
    builder = match (&c.access_token, &c.client_id, &c.client_secret) {
        (Some(token), _, _) => builder.bearer_token(token.clone()),
        (None, Some(id), Some(secret)) => builder.client_credentials(id.clone(), secret.clone()),
        _ => {
            return Err(Error::invalid(
                "client_secret",
                "give `client_id` and `client_secret`, or `access_token`",
            ));
        }
    };
    if let Some(owner) = &c.owner_id {
        builder = builder.default_owner(owner.clone());
    }
    Ok(Box::new(builder.build()?))
}

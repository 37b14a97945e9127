//! RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) signing of JWT-profile assertions,
//! on the crypto library the TLS feature already builds: *ring* (`rustls`, `native-tls`) or
//! aws-lc (`rustls-aws-lc`). A JWT is `base64url(header) "." base64url(claims)` and the
//! signature of those bytes, base64url (RFC 7515 §7.1); nothing else of a JWT library is
//! needed to make one.

#[cfg(feature = "rustls-aws-lc")]
use aws_lc_rs as crypto;
#[cfg(not(feature = "rustls-aws-lc"))]
use ring as crypto;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use crypto::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use pats_core::{Error, Result};

/// An RSA private key that signs RS256 JWTs.
pub(crate) struct SigningKey {
    pair: RsaKeyPair,
    rng: crypto::rand::SystemRandom,
}

impl SigningKey {
    /// Parses a PEM RSA private key: PKCS#1 (`RSA PRIVATE KEY`, what ZITADEL's key files
    /// hold) or PKCS#8 (`PRIVATE KEY`). Errors never quote the key.
    pub(crate) fn from_pem(pem: &str) -> Result<Self> {
        const NOT_RSA: &str = "`key` is not an RSA private key in PEM form";
        let (label, der) = pem_block(pem).ok_or_else(|| Error::invalid("key_file", NOT_RSA))?;
        let pair = match label {
            "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
            "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
            _ => return Err(Error::invalid("key_file", NOT_RSA)),
        }
        .map_err(|e| {
            // KeyRejected says why (too small, invalid encoding...), never the key.
            Error::invalid("key_file", format!("{NOT_RSA} ({e})"))
        })?;
        Ok(Self {
            pair,
            rng: crypto::rand::SystemRandom::new(),
        })
    }

    /// The compact JWT of `header` and `claims` (each serialized to JSON), signed.
    pub(crate) fn sign_jwt(
        &self,
        header: &impl serde::Serialize,
        claims: &impl serde::Serialize,
    ) -> Result<String> {
        let mut jwt = URL_SAFE_NO_PAD.encode(to_json(header)?);
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(to_json(claims)?));
        let mut signature = vec![0; self.modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, jwt.as_bytes(), &mut signature)
            .map_err(|_| Error::signing("cannot sign the JWT-profile assertion"))?;
        jwt.push('.');
        jwt.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(jwt)
    }

    #[cfg(feature = "rustls-aws-lc")]
    fn modulus_len(&self) -> usize {
        self.pair.public_modulus_len()
    }

    #[cfg(not(feature = "rustls-aws-lc"))]
    fn modulus_len(&self) -> usize {
        self.pair.public().modulus_len()
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| Error::signing_with_source("cannot serialize the JWT", e))
}

/// The label and DER bytes of the PEM block that `text` is (RFC 7468), or `None`.
fn pem_block(text: &str) -> Option<(&str, Vec<u8>)> {
    let text = text.trim();
    let rest = text.strip_prefix("-----BEGIN ")?;
    let (label, rest) = rest.split_once("-----")?;
    let (body, tail) = rest.split_once("-----END ")?;
    if tail.trim_end() != format!("{label}-----") {
        return None;
    }
    let body: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body).ok().map(|der| (label, der))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;
    use pats_sim::zitadel::{TEST_PRIVATE_KEY_PEM, TEST_PUBLIC_KEY_PEM};
    use serde_json::json;

    #[test]
    fn a_signed_jwt_verifies_with_the_public_key_and_carries_header_and_claims() {
        let key = SigningKey::from_pem(TEST_PRIVATE_KEY_PEM).unwrap();
        let header = json!({ "alg": "RS256", "kid": "k" });
        let claims = json!({ "iss": "u", "exp": 1 });
        let jwt = key.sign_jwt(&header, &claims).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let decoded: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(decoded, header);
        let decoded: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(decoded, claims);
        // Verified by the emulator's own verifier (independent of this signer).
        assert_eq!(
            pats_sim::jwt::verify_rs256(&jwt, TEST_PUBLIC_KEY_PEM).unwrap(),
            claims
        );
        // PKCS#1 v1.5 is deterministic: the same input, the same signature.
        assert_eq!(key.sign_jwt(&header, &claims).unwrap(), jwt);
    }

    #[test]
    fn keys_that_are_not_rsa_private_keys_are_refused_without_quoting_them() {
        let body = TEST_PRIVATE_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        for bad in [
            String::new(),
            "not a key".to_owned(),
            TEST_PUBLIC_KEY_PEM.to_owned(),
            TEST_PRIVATE_KEY_PEM.replace("RSA PRIVATE KEY", "EC PRIVATE KEY"),
            TEST_PRIVATE_KEY_PEM.replace("-----END RSA PRIVATE KEY-----", "-----END X-----"),
            format!(
                "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                &body[..200]
            ),
        ] {
            let err = SigningKey::from_pem(&bad).err().unwrap();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
            assert!(!err.to_string().contains(&body[..40]), "{err}");
        }
    }
}

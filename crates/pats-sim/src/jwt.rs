//! RS256 JSON Web Tokens (RFC 7515/7519) for the ZITADEL emulator, on *ring*: verifying
//! the JWT-profile assertions clients send, and signing test assertions.
//!
//! Only what the emulator needs: compact serialization, `alg` RS256, PEM keys (PKCS#1
//! `RSA PRIVATE KEY`, PKCS#8 `PRIVATE KEY`, SPKI `PUBLIC KEY`, PKCS#1 `RSA PUBLIC KEY`).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature::{self, RsaKeyPair, UnparsedPublicKey};
use serde_json::Value;

/// Why a token or a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtError {
    /// Not three base64url parts, or a header or payload that is not a JSON object.
    Malformed,
    /// The key is not an RSA key in one of the PEM forms above (or is too short for RS256).
    BadKey,
    /// The signature does not verify with the key.
    BadSignature,
}

/// A decoded JOSE header: `alg` and `kid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The `alg` parameter.
    pub alg: String,
    /// The `kid` parameter, if any.
    pub kid: Option<String>,
}

fn decode_object(part: &str) -> Result<Value, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwtError::Malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(JwtError::Malformed),
    }
}

fn split(token: &str) -> Result<(&str, &str, &str), JwtError> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok((h, p, s)),
        _ => Err(JwtError::Malformed),
    }
}

/// The header of a compact JWT, without checking its signature.
pub fn decode_header(token: &str) -> Result<Header, JwtError> {
    let (header, _, _) = split(token)?;
    let header = decode_object(header)?;
    let alg = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtError::Malformed)?
        .to_owned();
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.clone()),
        Some(_) => return Err(JwtError::Malformed),
    };
    Ok(Header { alg, kid })
}

/// The claims of an RS256 token whose signature verifies with `public_pem`. The header's
/// `alg` is not looked at: check it with [`decode_header`] first.
pub fn verify_rs256(token: &str, public_pem: &str) -> Result<Value, JwtError> {
    let (header, payload, sig) = split(token)?;
    let key = rsa_public_key(public_pem)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| JwtError::Malformed)?;
    let signed = &token[..header.len() + 1 + payload.len()];
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, key)
        .verify(signed.as_bytes(), &sig)
        .map_err(|_| JwtError::BadSignature)?;
    decode_object(payload)
}

/// A compact RS256 token with header `{"alg":"RS256","typ":"JWT","kid":kid}` and `claims`,
/// signed with `private_pem` (PKCS#1 or PKCS#8).
pub fn sign_rs256(private_pem: &str, kid: &str, claims: &Value) -> Result<String, JwtError> {
    let (label, der) = pem(private_pem)?;
    let key = match label.as_str() {
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        _ => return Err(JwtError::BadKey),
    }
    .map_err(|_| JwtError::BadKey)?;
    let header = serde_json::json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    let mut token = URL_SAFE_NO_PAD.encode(header.to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(
        &signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        token.as_bytes(),
        &mut sig,
    )
    .map_err(|_| JwtError::BadKey)?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(sig));
    Ok(token)
}

/// Whether `public_pem` is an RSA public key RS256 can verify with.
pub fn is_rsa_public_key(public_pem: &str) -> bool {
    rsa_public_key(public_pem).is_ok_and(|der| {
        // ring checks the key when verifying; a verification with a wrong signature
        // tells a usable key (BadSignature) from an unusable one (also an error, so parse
        // the modulus length instead).
        rsa_modulus_bits(&der).is_some_and(|bits| (2048..=8192).contains(&bits))
    })
}

/// The label and the DER bytes of the first PEM block of `text`.
fn pem(text: &str) -> Result<(String, Vec<u8>), JwtError> {
    let text = text.trim();
    let label = text
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.split_once("-----"))
        .map(|(label, _)| label.to_owned())
        .ok_or(JwtError::BadKey)?;
    let end = format!("-----END {label}-----");
    let body_start = text.find('\n').ok_or(JwtError::BadKey)?;
    let body_end = text.find(&end).ok_or(JwtError::BadKey)?;
    if body_end < body_start {
        return Err(JwtError::BadKey);
    }
    let body: String = text[body_start..body_end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD.decode(body).map_err(|_| JwtError::BadKey)?;
    Ok((label, der))
}

/// The PKCS#1 `RSAPublicKey` DER of a PEM public key (unwrapping an SPKI one).
fn rsa_public_key(public_pem: &str) -> Result<Vec<u8>, JwtError> {
    let (label, der) = pem(public_pem)?;
    match label.as_str() {
        "RSA PUBLIC KEY" => Ok(der),
        "PUBLIC KEY" => spki_rsa(&der).map(<[u8]>::to_vec).ok_or(JwtError::BadKey),
        _ => Err(JwtError::BadKey),
    }
}

/// `rsaEncryption` (1.2.840.113549.1.1.1), DER-encoded.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

/// One DER element at the start of `input`: (tag, contents, rest).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

/// The `RSAPublicKey` inside a `SubjectPublicKeyInfo` whose algorithm is rsaEncryption.
fn spki_rsa(spki: &[u8]) -> Option<&[u8]> {
    let (0x30, body, []) = der(spki)? else {
        return None;
    };
    let (0x30, algorithm, rest) = der(body)? else {
        return None;
    };
    let (0x06, oid, _) = der(algorithm)? else {
        return None;
    };
    if oid != RSA_ENCRYPTION {
        return None;
    }
    let (0x03, bits, []) = der(rest)? else {
        return None;
    };
    // A BIT STRING: the number of unused bits (0), then the key.
    match bits.split_first() {
        Some((0, key)) => Some(key),
        _ => None,
    }
}

/// The bit length of the modulus of a PKCS#1 `RSAPublicKey`.
fn rsa_modulus_bits(key: &[u8]) -> Option<usize> {
    let (0x30, body, []) = der(key)? else {
        return None;
    };
    let (0x02, modulus, rest) = der(body)? else {
        return None;
    };
    let (0x02, _exponent, []) = der(rest)? else {
        return None;
    };
    let significant: &[u8] = match modulus.iter().position(|&b| b != 0) {
        Some(at) => &modulus[at..],
        None => return None,
    };
    let lead = significant.first()?;
    Some(significant.len() * 8 - lead.leading_zeros() as usize)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::zitadel::{TEST_PRIVATE_KEY_PEM, TEST_PUBLIC_KEY_PEM};
    use serde_json::json;

    #[test]
    fn a_signed_token_verifies_and_a_changed_one_does_not() {
        let claims = json!({ "iss": "u", "exp": 2 });
        let token = sign_rs256(TEST_PRIVATE_KEY_PEM, "k1", &claims).unwrap();
        assert_eq!(
            decode_header(&token).unwrap(),
            Header {
                alg: "RS256".to_owned(),
                kid: Some("k1".to_owned())
            }
        );
        assert_eq!(verify_rs256(&token, TEST_PUBLIC_KEY_PEM).unwrap(), claims);

        let (h, _, s) = split(&token).unwrap();
        let forged = format!(
            "{h}.{}.{s}",
            URL_SAFE_NO_PAD.encode(json!({ "iss": "v", "exp": 2 }).to_string())
        );
        assert_eq!(
            verify_rs256(&forged, TEST_PUBLIC_KEY_PEM),
            Err(JwtError::BadSignature)
        );
        assert_eq!(
            verify_rs256("a.b", TEST_PUBLIC_KEY_PEM),
            Err(JwtError::Malformed)
        );
        assert_eq!(verify_rs256(&token, "not a key"), Err(JwtError::BadKey));
    }

    #[test]
    fn only_rsa_public_keys_of_rs256_sizes_are_accepted() {
        assert!(is_rsa_public_key(TEST_PUBLIC_KEY_PEM));
        assert!(!is_rsa_public_key(TEST_PRIVATE_KEY_PEM));
        assert!(!is_rsa_public_key(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"
        ));
        // A P-256 SPKI key: a public key, but not RSA.
        let p256 = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\nq9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n-----END PUBLIC KEY-----";
        assert!(!is_rsa_public_key(p256));
    }
}

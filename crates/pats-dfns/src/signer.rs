//! Signers for Dfns User Action Signing.

use async_trait::async_trait;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use pats_core::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// Signs the client data of a Dfns user action with a registered credential.
///
/// Implement it to keep the key in an HSM or a KMS: [`sign`](Self::sign) receives the
/// exact client data bytes and returns an ECDSA P-256 / SHA-256 signature, DER encoded.
/// The built-in implementation is [`P256Signer`]. `Debug` must never show key material.
#[async_trait]
pub trait UserActionSigner: Send + Sync + fmt::Debug {
    /// The Dfns credential id (`credId`) of the key.
    fn credential_id(&self) -> &str;

    /// Signs `client_data` (ECDSA P-256 over SHA-256) and returns the DER signature.
    async fn sign(&self, client_data: &[u8]) -> Result<Vec<u8>>;
}

/// A P-256 key held in memory, loaded from a PKCS#8 PEM, with its Dfns credential id.
#[derive(Clone)]
pub struct P256Signer {
    credential_id: String,
    key: SigningKey,
}

impl P256Signer {
    /// Loads a PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) P-256 private key.
    ///
    /// Fails with [`InvalidInput`](pats_core::ErrorKind::InvalidInput) when the credential id is empty or the PEM is not
    /// a P-256 PKCS#8 private key (the message never quotes the key).
    pub fn from_pkcs8_pem(credential_id: impl Into<String>, pem: &SecretString) -> Result<Self> {
        let credential_id = credential_id.into();
        if credential_id.trim().is_empty() {
            return Err(Error::invalid("credential_id", "must not be empty"));
        }
        let key = SigningKey::from_pkcs8_pem(pem.expose_secret().trim()).map_err(|_| {
            Error::invalid(
                "signing_key",
                "not a PKCS#8 PEM P-256 private key (`-----BEGIN PRIVATE KEY-----`)",
            )
        })?;
        Ok(Self { credential_id, key })
    }

    /// The public key as an SPKI PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> Result<String> {
        self.key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::signing(format!("cannot encode the public key: {e}")))
    }
}

impl fmt::Debug for P256Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P256Signer")
            .field("credential_id", &self.credential_id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

#[async_trait]
impl UserActionSigner for P256Signer {
    fn credential_id(&self) -> &str {
        &self.credential_id
    }

    async fn sign(&self, client_data: &[u8]) -> Result<Vec<u8>> {
        let signature: Signature = self
            .key
            .try_sign(client_data)
            .map_err(|e| Error::signing_with_source("ECDSA P-256 signing failed", e))?;
        Ok(signature.to_der().as_bytes().to_vec())
    }
}

/// A P-256 key pair for a new PAT: the PAT's own signing key.
///
/// [`DfnsClient::create_pat`](crate::DfnsClient::create_pat) can generate one for you, but
/// generating it yourself first keeps the private key even when the create does not
/// complete at once (a 202 awaiting a policy approval). `Debug` hides the private key.
///
/// ```
/// use pats_dfns::{NewPat, PatKeyPair};
/// use secrecy::ExposeSecret;
/// let pair = PatKeyPair::generate()?;
/// assert!(pair.private_key_pem().expose_secret().starts_with("-----BEGIN PRIVATE KEY-----"));
/// let request = NewPat::new("ci").public_key_pem(pair.public_key_pem());
/// # Ok::<(), pats_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct PatKeyPair {
    private_pem: SecretString,
    public_pem: String,
}

impl PatKeyPair {
    /// Generates a P-256 key pair with the operating system's random source.
    pub fn generate() -> Result<Self> {
        let secret = p256::SecretKey::random(&mut rand_core::OsRng);
        let private_pem = secret
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| Error::signing(format!("cannot encode the generated private key: {e}")))?;
        let public_pem = secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| Error::signing(format!("cannot encode the generated public key: {e}")))?;
        Ok(Self {
            private_pem: SecretString::from(private_pem.as_str().to_owned()),
            public_pem,
        })
    }

    /// The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn private_key_pem(&self) -> &SecretString {
        &self.private_pem
    }

    /// The public key, SPKI PEM (`-----BEGIN PUBLIC KEY-----`), to send when creating.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// The private and the public key PEMs.
    pub fn into_parts(self) -> (SecretString, String) {
        (self.private_pem, self.public_pem)
    }
}

/// Checks that `pem` looks like an SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`, base64
/// body). The key type is not checked: Dfns also accepts Ed25519 and RSA keys.
pub(crate) fn check_public_key_pem(pem: &str) -> Result<()> {
    use base64::Engine as _;
    const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
    const END: &str = "-----END PUBLIC KEY-----";
    let bad = |reason: &str| Err(Error::invalid("public_key", reason.to_owned()));
    let text = pem.trim();
    let Some(rest) = text.strip_prefix(BEGIN) else {
        return bad("must be a PEM public key starting with `-----BEGIN PUBLIC KEY-----`");
    };
    let Some(body) = rest.strip_suffix(END) else {
        return bad("must be a PEM public key ending with `-----END PUBLIC KEY-----`");
    };
    let body: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
        Ok(der) if !der.is_empty() => Ok(()),
        _ => bad("the PEM body is not valid base64"),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier as _;
    use p256::pkcs8::DecodePublicKey as _;
    use pats_core::ErrorKind;

    #[tokio::test]
    async fn signs_der_that_verifies_and_hides_the_key() {
        let pair = PatKeyPair::generate().unwrap();
        let signer = P256Signer::from_pkcs8_pem("cr-1", pair.private_key_pem()).unwrap();
        let dbg = format!("{signer:?}");
        assert!(!dbg.contains("PRIVATE"), "{dbg}");
        let pem = pair.private_key_pem().expose_secret();
        let inner: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        assert!(!dbg.contains(&inner[..20]), "{dbg}");

        let sig = signer.sign(b"hello").await.unwrap();
        let sig = Signature::from_der(&sig).unwrap();
        let vk = p256::ecdsa::VerifyingKey::from_public_key_pem(pair.public_key_pem()).unwrap();
        vk.verify(b"hello", &sig).unwrap();
        assert!(vk.verify(b"hellO", &sig).is_err());
        assert_eq!(signer.public_key_pem().unwrap(), pair.public_key_pem());
    }

    #[test]
    fn bad_keys_are_invalid_input_without_quoting_them() {
        let err =
            P256Signer::from_pkcs8_pem("cr-1", &SecretString::from("not a key-xyzzy")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(!err.to_string().contains("xyzzy"));
        let pair = PatKeyPair::generate().unwrap();
        assert!(P256Signer::from_pkcs8_pem(" ", pair.private_key_pem()).is_err());
    }

    #[test]
    fn public_key_pem_check() {
        let pair = PatKeyPair::generate().unwrap();
        check_public_key_pem(pair.public_key_pem()).unwrap();
        for bad in [
            "",
            "abc",
            "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        ] {
            assert!(
                matches!(check_public_key_pem(bad), Err(ref e) if e.kind() == ErrorKind::InvalidInput),
                "{bad:?}"
            );
        }
    }
}

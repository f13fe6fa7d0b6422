//! Berth's certificate authority: one ECDSA P-256 key and a self-signed CA certificate in the data directory
//! (`tls/ca.key`, mode 0600, and `tls/ca.pem`), created on first start. It issues the server's certificate (a new
//! key and certificate at every start, so the names always match the listen address) and the agents' link
//! certificates (for a public key the agent proves it holds, so agents' private keys never leave their hosts).
//!
//! Clients trust the CA, not a certificate: `ca.pem` is what the aws profile's `ca_bundle` names and what agents
//! are given. Limits: no revocation (agent certificates are short-lived instead), and the CA key is a file on the
//! server's host, as with `kubeadm`'s CA; several servers sharing one store must share the CA files.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData, SignatureAlgorithm,
};

use crate::TlsError;

/// How long the CA certificate is valid.
const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Certificates are valid from a little before they are made, for hosts whose clocks lag.
const BACKDATE: Duration = Duration::from_secs(3600);
/// The domain-separation prefix of the message an agent signs to prove it holds the key it asks a certificate for.
pub const PROOF_CONTEXT: &str = "berth-link-certificate:";

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A TLS server: Berth's API, an agent's link endpoint.
    Server,
}

/// The CA: its signing key and its certificate.
pub struct Authority {
    key: KeyPair,
    cert_pem: String,
    params: CertificateParams,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authority").field("name", &ca_name(&self.key)).finish_non_exhaustive()
    }
}

impl Authority {
    /// The CA in `dir` (`ca.key`, `ca.pem`), created there when absent. A key file readable by others is refused.
    pub fn load_or_create(dir: &Path) -> Result<Self, TlsError> {
        let key_path = dir.join("ca.key");
        let cert_path = dir.join("ca.pem");
        if key_path.exists() {
            let mode = fs::metadata(&key_path).map_err(|e| TlsError::io(&key_path, e))?.permissions().mode();
            if mode & 0o077 != 0 {
                return Err(TlsError::Config(format!(
                    "{} is readable by other users (mode {:o}); chmod 600 it",
                    key_path.display(),
                    mode & 0o777
                )));
            }
            let pem = fs::read_to_string(&key_path).map_err(|e| TlsError::io(&key_path, e))?;
            let key = KeyPair::from_pem(&pem).map_err(|e| TlsError::Config(format!("{}: {e}", key_path.display())))?;
            let cert_pem = fs::read_to_string(&cert_path).map_err(|e| TlsError::io(&cert_path, e))?;
            let params = ca_params(&key, jiff::Timestamp::now())?;
            return Ok(Authority { key, cert_pem, params });
        }
        fs::create_dir_all(dir).map_err(|e| TlsError::io(dir, e))?;
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(TlsError::generate)?;
        let params = ca_params(&key, jiff::Timestamp::now())?;
        let cert_pem = params.self_signed(&key).map_err(TlsError::generate)?.pem();
        write_private(&key_path, &key.serialize_pem())?;
        fs::write(&cert_path, &cert_pem).map_err(|e| TlsError::io(&cert_path, e))?;
        tracing::info!(ca = %cert_path.display(), "created Berth's certificate authority");
        Ok(Authority { key, cert_pem, params })
    }

    /// A CA that lives in memory only (tests).
    pub fn ephemeral() -> Result<Self, TlsError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(TlsError::generate)?;
        let params = ca_params(&key, jiff::Timestamp::now())?;
        let cert_pem = params.self_signed(&key).map_err(TlsError::generate)?.pem();
        Ok(Authority { key, cert_pem, params })
    }

    /// The CA certificate, PEM: what clients trust.
    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    /// A certificate for `names` (DNS names or IP addresses) and `public_key`, named `subject`, valid for
    /// `lifetime`; PEM.
    pub fn issue(
        &self,
        subject: &str,
        names: &[String],
        public_key: &impl PublicKeyData,
        usage: Usage,
        lifetime: Duration,
    ) -> Result<String, TlsError> {
        if names.is_empty() {
            return Err(TlsError::Config("a certificate needs at least one name".into()));
        }
        if let Some(bad) = names.iter().find(|n| !valid_name(n)) {
            return Err(TlsError::Config(format!("'{bad}' is neither an IP address nor a DNS name")));
        }
        let mut params = CertificateParams::new(names.to_vec())
            .map_err(|e| TlsError::Config(format!("invalid certificate name: {e}")))?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, subject);
        params.distinguished_name = dn;
        let now = jiff::Timestamp::now();
        params.not_before = offset(now, -(BACKDATE.as_secs() as i64))?;
        params.not_after = offset(now, lifetime.as_secs() as i64)?;
        params.serial_number = Some(random_serial()?.into());
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = match usage {
            Usage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
        };
        params.use_authority_key_identifier_extension = true;
        let issuer = Issuer::from_params(&self.params, &self.key);
        Ok(params.signed_by(public_key, &issuer).map_err(TlsError::generate)?.pem())
    }

    /// A new key and a certificate for it: the server's own, `(certificate chain PEM, private key PEM)`.
    pub fn issue_with_key(
        &self,
        subject: &str,
        names: &[String],
        usage: Usage,
        lifetime: Duration,
    ) -> Result<(String, String), TlsError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(TlsError::generate)?;
        let cert = self.issue(subject, names, &key, usage, lifetime)?;
        Ok((cert, key.serialize_pem()))
    }
}

/// A P-256 public key as an agent sends it: the uncompressed point (65 bytes), checked with a signature by its
/// private key over [`PROOF_CONTEXT`] followed by `statement` (the instance's ARN), so nobody gets a certificate
/// for a key they do not hold.
#[derive(Debug, Clone)]
pub struct ProvenKey(Vec<u8>);

impl ProvenKey {
    pub fn verify(point: &[u8], signature: &[u8], statement: &str) -> Result<Self, TlsError> {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
        if point.len() != 65 || point[0] != 4 {
            return Err(TlsError::Proof("the public key must be an uncompressed P-256 point (65 bytes)".into()));
        }
        let message = format!("{PROOF_CONTEXT}{statement}");
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
            .verify(message.as_bytes(), signature)
            .map_err(|_| TlsError::Proof("the signature does not verify with the public key".into()))?;
        Ok(ProvenKey(point.to_vec()))
    }
}

impl PublicKeyData for ProvenKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_ECDSA_P256_SHA256
    }
}

/// An agent's link key: generated on the agent, kept in memory, proven to the server by [`LinkKey::proof`].
pub struct LinkKey(KeyPair);

impl LinkKey {
    pub fn generate() -> Result<Self, TlsError> {
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map(LinkKey).map_err(TlsError::generate)
    }

    /// The public point to send.
    pub fn public_point(&self) -> &[u8] {
        self.0.public_key_raw()
    }

    /// The signature (ASN.1 DER) over [`PROOF_CONTEXT`] + `statement`.
    pub fn proof(&self, statement: &str) -> Result<Vec<u8>, TlsError> {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, self.0.serialized_der())
            .map_err(|e| TlsError::Proof(format!("cannot load the link key: {e}")))?;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let message = format!("{PROOF_CONTEXT}{statement}");
        let signature = pair
            .sign(&rng, message.as_bytes())
            .map_err(|e| TlsError::Proof(format!("cannot sign with the link key: {e}")))?;
        Ok(signature.as_ref().to_vec())
    }

    /// The private key, PEM (PKCS#8), for this process's own TLS server.
    pub fn private_pem(&self) -> String {
        self.0.serialize_pem()
    }
}

/// An IP address, or a DNS name (letters, digits, hyphens and dots; a leading `*.` for a wildcard).
pub fn valid_name(name: &str) -> bool {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let host = name.strip_prefix("*.").unwrap_or(name);
    !host.is_empty()
        && name.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The CA's parameters. They must be the same every time the CA is loaded (the issuer name of every certificate it
/// signs comes from them), so they derive from the key alone.
fn ca_params(key: &KeyPair, now: jiff::Timestamp) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Berth");
    dn.push(DnType::CommonName, ca_name(key));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params.not_before = offset(now, -(BACKDATE.as_secs() as i64))?;
    params.not_after = offset(now, CA_LIFETIME.as_secs() as i64)?;
    params.serial_number = Some(random_serial()?.into());
    Ok(params)
}

/// "Berth CA 1a2b3c4d": unique to each CA, so two installations' CAs are told apart.
fn ca_name(key: &KeyPair) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.public_key_raw());
    let hex: String = digest.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("Berth CA {hex}")
}

fn offset(now: jiff::Timestamp, seconds: i64) -> Result<time::OffsetDateTime, TlsError> {
    time::OffsetDateTime::from_unix_timestamp(now.as_second().saturating_add(seconds))
        .map_err(|e| TlsError::Config(format!("certificate validity out of range: {e}")))
}

fn random_serial() -> Result<Vec<u8>, TlsError> {
    let mut serial = [0u8; 16];
    aws_lc_rs::rand::fill(&mut serial).map_err(|_| TlsError::Config("no randomness for a serial number".into()))?;
    serial[0] &= 0x7f; // positive
    Ok(serial.to_vec())
}

/// Writes `contents` to a new file only its owner can read.
fn write_private(path: &Path, contents: &str) -> Result<(), TlsError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| TlsError::io(path, e))?;
    file.write_all(contents.as_bytes()).map_err(|e| TlsError::io(path, e))
}

/// Where the CA of data directory `data_dir` lives.
pub fn ca_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("tls")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_is_created_once_with_a_private_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = Authority::load_or_create(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join("ca.key")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = Authority::load_or_create(dir.path()).unwrap();
        assert_eq!(first.cert_pem(), again.cert_pem());
        assert_eq!(ca_name(&first.key), ca_name(&again.key));
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        Authority::load_or_create(dir.path()).unwrap();
        fs::set_permissions(dir.path().join("ca.key"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = Authority::load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("readable by other users"), "{err}");
    }

    #[test]
    fn a_link_key_is_proven_and_a_forged_proof_is_not() {
        let key = LinkKey::generate().unwrap();
        let proof = key.proof("arn:aws:ecs:us-east-1:1:container-instance/c/1").unwrap();
        assert!(
            ProvenKey::verify(key.public_point(), &proof, "arn:aws:ecs:us-east-1:1:container-instance/c/1").is_ok()
        );
        // A proof made for another instance does not transfer.
        assert!(
            ProvenKey::verify(key.public_point(), &proof, "arn:aws:ecs:us-east-1:1:container-instance/c/2").is_err()
        );
        let other = LinkKey::generate().unwrap();
        assert!(
            ProvenKey::verify(other.public_point(), &proof, "arn:aws:ecs:us-east-1:1:container-instance/c/1").is_err()
        );
        assert!(ProvenKey::verify(&[4; 10], &proof, "x").is_err());
    }

    #[test]
    fn names_must_be_given_and_valid() {
        let ca = Authority::ephemeral().unwrap();
        let key = LinkKey::generate().unwrap();
        let proven = ProvenKey::verify(key.public_point(), &key.proof("i").unwrap(), "i").unwrap();
        assert!(ca.issue("x", &[], &proven, Usage::Server, Duration::from_secs(60)).is_err());
        assert!(ca.issue("x", &["bad name!".into()], &proven, Usage::Server, Duration::from_secs(60)).is_err());
        let pem = ca.issue("x", &["10.0.0.5".into()], &proven, Usage::Server, Duration::from_secs(60)).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    }
}

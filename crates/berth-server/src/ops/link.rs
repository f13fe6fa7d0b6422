//! `GetLinkCertificate`, the agent operation through which an agent gets the certificate its link endpoint serves:
//! issued by the server's CA ([`berth_tls::pki::Authority`]) for the host of the link endpoint the instance
//! registered, for a key the agent proves it holds. The server's link client trusts only that CA, so it talks to
//! the agent that registered the address and to nobody else on the network.
//!
//! Limits: certificates are not revoked (they are short-lived: [`LIFETIME`], renewed by the agent); an agent that
//! re-registers with another address gets a certificate for the new one.

use std::time::Duration;

use base64::Engine;
use berth_model::arn;
use berth_model::instance::ContainerInstance;
use berth_model::logs::{LinkCertificate, LinkCertificateRequest};
use berth_model::names::truncate;
use berth_tls::pki::{ProvenKey, Usage};
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult};
use crate::state::{self, keys};

/// How long a link certificate is valid; agents renew when a third is left.
pub const LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

pub async fn get_link_certificate(api: &Api, req: LinkCertificateRequest) -> ApiResult<Value> {
    let Some(authority) = &api.tls_authority else {
        return Err(ApiError::invalid(
            "This server serves plain HTTP (--insecure-http), so agent links are plain HTTP too: register an http:// \
             link endpoint.",
        ));
    };
    let b64 = base64::engine::general_purpose::STANDARD;
    let point = b64.decode(&req.public_key).map_err(|_| ApiError::invalid("publicKey: expected base64."))?;
    let proof = b64.decode(&req.proof).map_err(|_| ApiError::invalid("proof: expected base64."))?;
    let key = ProvenKey::verify(&point, &proof, &req.container_instance)
        .map_err(|e| ApiError::invalid(format!("publicKey: {e}.")))?;

    let cluster = Api::cluster_name(Some(&req.cluster)).to_owned();
    let (other, instance_id) = arn::scoped_id(&req.container_instance, "container-instance");
    if other.is_some_and(|c| c != cluster) || instance_id.is_empty() {
        return Err(ApiError::invalid("containerInstance does not belong to the cluster named."));
    }
    let Some(instance) =
        state::get::<ContainerInstance>(api.store.as_ref(), &keys::instance(&cluster, instance_id)).await?
    else {
        return Err(ApiError::invalid(format!(
            "containerInstance {} is not registered in cluster {cluster}.",
            truncate(&req.container_instance, 128)
        )));
    };
    let host = instance
        .value
        .agent_link
        .as_ref()
        .and_then(|link| link.endpoint.strip_prefix("https://"))
        .map(link_host)
        .ok_or_else(|| ApiError::invalid("containerInstance registered no https:// link endpoint."))?;
    let certificate = authority
        .issue(&instance.value.container_instance_arn, &[host.to_owned()], &key, Usage::Server, LIFETIME)
        .map_err(|e| ApiError::invalid(format!("berthAgentLink.endpoint: {e}.")))?;
    let expires_at = api.now() + LIFETIME.as_secs_f64();
    Ok(json!(LinkCertificate { certificate, expires_at }))
}

/// The host of `host:port[/...]`, without the brackets of an IPv6 address.
fn link_host(rest: &str) -> &str {
    let authority = rest.split('/').next().unwrap_or(rest);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    authority.rsplit_once(':').map_or(authority, |(host, _)| host)
}

#[cfg(test)]
mod tests {
    use super::link_host;

    #[test]
    fn hosts_of_link_endpoints() {
        assert_eq!(link_host("10.0.0.5:8701"), "10.0.0.5");
        assert_eq!(link_host("agent-1.lab:8701/"), "agent-1.lab");
        assert_eq!(link_host("[fd00::5]:8701"), "fd00::5");
        assert_eq!(link_host("host"), "host");
    }
}

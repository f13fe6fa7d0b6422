//! The server's end of the agent link: finding the agent that holds a stream (from the instance record's
//! `berthAgentLink`) and calling its log operations over HTTP with its bearer token. Short timeouts keep a host
//! that is gone from holding a request: it becomes [`LinkFailure::Unreachable`], which the handlers answer as
//! `ServiceUnavailableException` naming the stream and the instance.

use std::time::Duration;

use berth_model::instance::ContainerInstance;
use berth_model::logs::{AgentLink, LinkError};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::Api;
use crate::error::{ApiError, ErrorCode};
use crate::state::{self, keys};

/// How long connecting to an agent may take: a host that is gone answers nothing, and the caller must not wait.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one agent call may take in all (reading 10,000 events from disk takes far less).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The client for every agent call (one, so connections are reused across requests). With Berth's CA, it trusts
/// only that CA: agents' link certificates come from it (`GetLinkCertificate`), so the server reaches the agent
/// that registered the address and nobody else.
pub fn client(authority: Option<&berth_tls::pki::Authority>) -> Result<reqwest::Client, ApiError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        // Agents are reached directly; a proxy from the server's environment must not sit in between.
        .no_proxy();
    if let Some(authority) = authority {
        let ca = reqwest::Certificate::from_pem(authority.cert_pem().as_bytes())
            .map_err(|e| ApiError::server(format!("cannot use the CA for agent links: {e}")))?;
        builder = builder.tls_certs_only([ca]);
    }
    builder.build().map_err(|e| ApiError::server(format!("cannot build the agent link client: {e}")))
}

/// An agent that can be asked.
#[derive(Debug, Clone)]
pub struct Host {
    pub link: AgentLink,
    client: reqwest::Client,
}

/// Why an agent call gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkFailure {
    /// The host cannot be asked now; the text completes "container instance <arn> ..." (`"is disconnected"`).
    Unreachable(String),
    /// The agent answered with an error of its own (a missing stream, a bad token, ...).
    Refused { code: ErrorCode, message: String },
}

impl LinkFailure {
    /// The API error for a read of `what` (`"log stream ecs/web/1"`) held by `instance_arn`.
    pub fn into_api(self, what: &str, instance_arn: &str) -> ApiError {
        match self {
            LinkFailure::Unreachable(reason) => ApiError::new(
                ErrorCode::ServiceUnavailableException,
                format!(
                    "The {what} is kept on container instance {instance_arn}, which {reason}; try again when its agent is back."
                ),
            ),
            LinkFailure::Refused { code, message } => ApiError::new(code, message),
        }
    }
}

/// The agent of `instance_arn` in `cluster`, or why it cannot be asked.
pub async fn resolve(api: &Api, cluster: &str, instance_arn: &str) -> Result<Host, LinkFailure> {
    let (_, id) = berth_model::arn::scoped_id(instance_arn, "container-instance");
    let record = state::get::<ContainerInstance>(api.store.as_ref(), &keys::instance(cluster, id))
        .await
        .map_err(|e| LinkFailure::Unreachable(format!("could not be looked up ({})", e.message)))?;
    let Some(record) = record else {
        return Err(LinkFailure::Unreachable("is no longer registered".into()));
    };
    let instance = record.value;
    if !instance.agent_connected {
        return Err(LinkFailure::Unreachable("is disconnected (its agent has not been heard from)".into()));
    }
    match instance.agent_link {
        Some(link) => Ok(Host { link, client: api.link_client.clone() }),
        None => Err(LinkFailure::Unreachable("runs an agent that serves no log link".into())),
    }
}

/// `POST <endpoint><path>` with `request` as JSON and the agent's token; the answer decoded.
pub async fn call<Req: Serialize, Resp: DeserializeOwned>(
    host: &Host,
    path: &str,
    request: &Req,
) -> Result<Resp, LinkFailure> {
    let url = format!("{}{path}", host.link.endpoint.trim_end_matches('/'));
    let response = host.client.post(&url).bearer_auth(&host.link.token).json(request).send().await.map_err(|e| {
        let why = if e.is_timeout() {
            "did not answer in time"
        } else if is_certificate_error(&e) {
            "presented a certificate this server's CA did not issue for it"
        } else if e.is_connect() {
            "cannot be reached"
        } else {
            "could not be asked"
        };
        LinkFailure::Unreachable(format!("{why} (agent link {})", host.link.endpoint))
    })?;
    let status = response.status();
    if status.is_success() {
        return response
            .json::<Resp>()
            .await
            .map_err(|e| LinkFailure::Unreachable(format!("answered something unreadable ({e}) on its agent link")));
    }
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return Err(LinkFailure::Unreachable(
            "refused the server's link token (its agent restarted and has not registered again yet)".into(),
        ));
    }
    let error = response.json::<LinkError>().await.ok();
    Err(refusal(status.as_u16(), error))
}

/// The API error an agent's error answer becomes: its CloudWatch code where the API knows it, else by status.
fn refusal(status: u16, error: Option<LinkError>) -> LinkFailure {
    let Some(error) = error else {
        return LinkFailure::Unreachable(format!("answered HTTP {status} on its agent link"));
    };
    let code = match error.code.as_str() {
        "ResourceNotFoundException" => ErrorCode::ResourceNotFoundException,
        "InvalidParameterException" => ErrorCode::InvalidParameterException,
        "ServiceUnavailableException" => ErrorCode::ServiceUnavailableException,
        _ if status >= 500 => {
            return LinkFailure::Unreachable(format!("failed to read its logs ({})", error.message));
        }
        _ => ErrorCode::InvalidParameterException,
    };
    LinkFailure::Refused { code, message: error.message }
}

/// Whether a failed call failed on the agent's certificate (TLS verification), not on the network.
fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(cause) = source {
        if cause.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_errors_map_to_api_codes() {
        let e = |code: &str| Some(LinkError { code: code.into(), message: "m".into() });
        assert_eq!(
            refusal(404, e("ResourceNotFoundException")),
            LinkFailure::Refused { code: ErrorCode::ResourceNotFoundException, message: "m".into() }
        );
        assert_eq!(
            refusal(400, e("InvalidParameterException")),
            LinkFailure::Refused { code: ErrorCode::InvalidParameterException, message: "m".into() }
        );
        assert!(matches!(refusal(500, e("Internal")), LinkFailure::Unreachable(_)));
        assert!(matches!(refusal(502, None), LinkFailure::Unreachable(_)));
        let api = LinkFailure::Unreachable("is disconnected".into()).into_api("log stream s", "arn:i");
        assert_eq!(api.code, ErrorCode::ServiceUnavailableException);
        assert!(api.message.contains("log stream s") && api.message.contains("arn:i"), "{}", api.message);
    }
}

//! `GetInstanceCredentials`: the identity an agent acts as once its host is registered. The registering key (an
//! operator's, allowed `berth:GetInstanceCredentials`) asks once; the session that comes back names the container
//! instance, and [`crate::authz::instance`] lets it call only the agent operations for that instance and the state
//! reports of its tasks. The agent renews it with itself before it expires; it stops working when the instance is
//! deregistered.
//!
//! Limits: the registering key itself keeps whatever its policies allow; give agents' keys a policy that allows
//! only `ecs:RegisterContainerInstance` and `berth:GetInstanceCredentials`.

use berth_model::agent::{InstanceCredentials, InstanceCredentialsRequest};
use berth_model::arn;
use berth_model::instance::ContainerInstance;
use berth_model::names::truncate;
use serde_json::{Value, json};

use crate::api::Api;
use crate::error::{ApiError, ApiResult};
use crate::state::{self, keys};
use crate::sts::session::{self, Claims, Subject};

/// How long an instance session lasts; agents renew when a third is left.
pub const LIFETIME_SECONDS: i64 = 6 * 3600;

pub async fn get_instance_credentials(api: &Api, req: InstanceCredentialsRequest) -> ApiResult<Value> {
    let cluster = Api::cluster_name(Some(&req.cluster)).to_owned();
    let (other, instance_id) = arn::scoped_id(&req.container_instance, "container-instance");
    if other.is_some_and(|c| c != cluster) || instance_id.is_empty() {
        return Err(ApiError::invalid("containerInstance does not belong to the cluster named."));
    }
    let instance = state::get::<ContainerInstance>(api.store.as_ref(), &keys::instance(&cluster, instance_id)).await?;
    let Some(instance) = instance.filter(|i| i.value.status != "INACTIVE") else {
        return Err(ApiError::invalid(format!(
            "containerInstance {} is not registered in cluster {cluster}.",
            truncate(&req.container_instance, 128)
        )));
    };
    let claims = Claims {
        access_key_id: session::new_access_key_id(),
        expires: api.now().floor() as i64 + LIFETIME_SECONDS,
        subject: Subject::Instance { cluster, instance: instance.value.container_instance_arn },
        policy: None,
        tags: vec![],
        task: None,
    };
    let key = api.auth.sessions();
    Ok(json!(InstanceCredentials {
        access_key_id: claims.access_key_id.clone(),
        secret_access_key: key.secret_for(&claims.access_key_id),
        session_token: key.seal(&claims),
        expiration: claims.expires as f64,
    }))
}

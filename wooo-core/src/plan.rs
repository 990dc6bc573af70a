//! Cluster plans: the pure diff between a spec and the cluster as it is. (Being written.)

use crate::error::Result;
use crate::model::{Cluster, ClusterPlan, ClusterSpec};

/// What applying `desired` to `current` (None: no cluster yet) changes, in order.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] for changes no provider can make (a Kubernetes downgrade).
pub fn cluster(desired: &ClusterSpec, _current: Option<&Cluster>) -> Result<ClusterPlan> {
    Ok(ClusterPlan { cluster: desired.id(), changes: Vec::new() })
}

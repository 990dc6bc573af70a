//! Cluster plans: the pure diff between a spec and the cluster as it is. (Being written.)

use crate::model::{Cluster, ClusterPlan, ClusterSpec};

/// What applying `desired` to `current` (None: no cluster yet) changes, in order.
pub fn cluster(desired: &ClusterSpec, _current: Option<&Cluster>) -> ClusterPlan {
    ClusterPlan { cluster: desired.id(), changes: Vec::new() }
}

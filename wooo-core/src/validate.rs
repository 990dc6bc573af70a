//! Spec validation: every spec is checked before the first API call. (Being written.)

use crate::error::Result;
use crate::model::{AppSpec, ClusterSpec, MeshPolicy, NodePoolSpec, TimeWindow};

/// Validates a cluster spec.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming every invalid field.
pub fn cluster_spec(_spec: &ClusterSpec) -> Result<()> {
    Ok(())
}

/// Validates an app spec.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming every invalid field.
pub fn app_spec(_spec: &AppSpec) -> Result<()> {
    Ok(())
}

/// Validates a mesh policy.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming every invalid field.
pub fn mesh_policy(_policy: &MeshPolicy) -> Result<()> {
    Ok(())
}

/// Validates a node pool resize.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] (field `desired`) when outside the pool's min..=max.
pub fn node_pool_scale(_pool: &NodePoolSpec, _desired: u32) -> Result<()> {
    Ok(())
}

/// Validates a cost window.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] (field `window`) when it is empty.
pub fn time_window(_window: &TimeWindow) -> Result<()> {
    Ok(())
}

//! AppSpec → typed objects. (Being written.)

use super::Object;
use crate::error::Result;
use crate::model::AppSpec;

/// Renders an app's objects in apply order.
///
/// # Errors
/// [`crate::Error::InvalidSpec`] naming the field.
pub fn app(_spec: &AppSpec) -> Result<Vec<Object>> {
    Ok(Vec::new())
}

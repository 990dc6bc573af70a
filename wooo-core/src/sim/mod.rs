//! The in-memory simulated cloud. (Being written; the public surface below is fixed.)

use std::sync::Arc;
use std::time::Duration;

use crate::costing::PriceTable;

/// A simulated cloud: one shared in-memory state behind all four traits.
#[derive(Debug, Clone)]
pub struct SimCloud {
    #[allow(dead_code)]
    state: Arc<()>,
}

impl SimCloud {
    /// A builder.
    pub fn builder() -> SimCloudBuilder {
        SimCloudBuilder::default()
    }
}

/// Builds a [`SimCloud`].
#[derive(Debug, Clone, Default)]
pub struct SimCloudBuilder {
    provisioning_delay: Option<Duration>,
    prices: Option<PriceTable>,
}

impl SimCloudBuilder {
    /// How long a cluster takes to become available.
    pub fn provisioning_delay(mut self, d: Duration) -> Self {
        self.provisioning_delay = Some(d);
        self
    }
    /// Price table.
    pub fn prices(mut self, p: PriceTable) -> Self {
        self.prices = Some(p);
        self
    }
    /// Builds.
    pub fn build(self) -> SimCloud {
        SimCloud { state: Arc::new(()) }
    }
}

//! [`K3sBuilder`]: the host inventories a [`K3s`] provisioner serves, and its waits.

use std::collections::BTreeMap;
use std::time::Duration;

use wooo_core::{Error, Result, WaitOptions};

use super::K3s;
use super::spec::K3sInventory;

/// Builds a [`K3s`] provisioner. Every cluster it serves needs its host inventory ([`K3sBuilder::cluster`]);
/// the cluster spec and its inventory are validated together on every call, before the first connection.
///
/// ```
/// use wooo_providers::k3s::{K3sBuilder, K3sInventory};
/// let inventory: K3sInventory = wooo_core::model::from_yaml(
///     "cluster: edge\nhosts:\n  - {name: s1, address: 10.0.0.1, user: root, auth: agent, role: server}\n",
/// )?;
/// let k3s = K3sBuilder::new().cluster(inventory).build()?;
/// assert_eq!(k3s.clusters(), ["edge"]);
/// # Ok::<(), wooo_core::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct K3sBuilder {
    inventories: Vec<K3sInventory>,
    wait: Option<WaitOptions>,
}

impl K3sBuilder {
    /// A builder with no cluster.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves the cluster `inventory.cluster` on these hosts.
    pub fn cluster(mut self, inventory: K3sInventory) -> Self {
        self.inventories.push(inventory);
        self
    }

    /// How long to wait for a node to become Ready after an install, a join or an upgrade
    /// ([`K3s::DEFAULT_WAIT`] unless set).
    pub fn wait(mut self, wait: WaitOptions) -> Self {
        self.wait = Some(wait);
        self
    }

    /// The provisioner.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] (field `inventories[i].cluster`) for two inventories of one cluster, or a
    /// cluster name that is not a DNS-1123 label.
    pub fn build(self) -> Result<K3s> {
        let mut inventories = BTreeMap::new();
        for (i, inventory) in self.inventories.into_iter().enumerate() {
            let field = format!("inventories[{i}].cluster");
            wooo_core::validate::dns1123_label(&inventory.cluster, 40).map_err(|r| Error::invalid_spec(&field, r))?;
            if inventories.contains_key(&inventory.cluster) {
                return Err(Error::invalid_spec(field, format!("a second inventory of cluster {}", inventory.cluster)));
            }
            inventories.insert(inventory.cluster.clone(), inventory);
        }
        Ok(K3s { inventories, wait: self.wait.unwrap_or(K3s::DEFAULT_WAIT) })
    }
}

impl K3s {
    /// The waits unless [`K3sBuilder::wait`] says otherwise: up to 10 minutes per node, polling every 2 s up to
    /// every 10 s (a K3s node is Ready within a minute of its install on a typical host).
    pub const DEFAULT_WAIT: WaitOptions = WaitOptions {
        timeout: Duration::from_secs(10 * 60),
        interval: Duration::from_secs(2),
        max_interval: Duration::from_secs(10),
        jitter_percent: 10,
    };
}

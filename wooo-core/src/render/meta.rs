//! Names, labels and metadata every object of one app shares, so the renderers agree on selectors.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::secrets::SecretInputs;
use crate::error::{Error, Result};
use crate::model::{AppSpec, Labels, MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// `app.kubernetes.io/name`.
pub(super) const NAME_LABEL: &str = "app.kubernetes.io/name";
/// `app.kubernetes.io/instance`.
pub(super) const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";
/// `app.kubernetes.io/component`.
pub(super) const COMPONENT_LABEL: &str = "app.kubernetes.io/component";
/// `app.kubernetes.io/part-of`.
pub(super) const PART_OF_LABEL: &str = "app.kubernetes.io/part-of";
/// The pod label carrying the image version, for dashboards and canary analysis.
pub(super) const VERSION_LABEL: &str = "version";

/// Label values are at most 63 characters.
const MAX_LABEL_VALUE: usize = 63;

/// Which pods of the app a Deployment runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Component {
    /// The HTTP server behind the Service.
    Web,
    /// The background worker (Django's Celery).
    Worker,
}

impl Component {
    /// The `app.kubernetes.io/component` value.
    pub(super) const fn as_str(self) -> &'static str {
        match self {
            Component::Web => "web",
            Component::Worker => "worker",
        }
    }
}

/// One app being rendered: the spec plus the names derived from it.
#[derive(Debug, Clone, Copy)]
pub(super) struct AppContext<'a> {
    /// The spec.
    pub(super) spec: &'a AppSpec,
    /// What the cluster knows of the app's secrets.
    pub(super) secrets: &'a SecretInputs,
}

/// Offline: no rollout key, nothing read.
static NO_SECRET_INPUTS: SecretInputs = SecretInputs { rollout_key: None, referenced: BTreeMap::new() };

impl<'a> AppContext<'a> {
    /// A context over `spec`.
    pub(super) fn new(spec: &'a AppSpec, secrets: &'a SecretInputs) -> Self {
        Self { spec, secrets }
    }

    /// A context for renderers that read no secret (mesh, monitoring).
    pub(super) fn offline(spec: &'a AppSpec) -> Self {
        Self { spec, secrets: &NO_SECRET_INPUTS }
    }

    /// The app's name, which names its main objects.
    pub(super) fn name(&self) -> &'a str {
        &self.spec.name
    }

    /// The ConfigMap holding `config`.
    pub(super) fn config_map_name(&self) -> String {
        format!("{}-config", self.spec.name)
    }

    /// The Secret holding `secrets`.
    pub(super) fn secret_name(&self) -> String {
        self.spec.secret_name()
    }

    /// The background worker Deployment.
    pub(super) fn worker_name(&self) -> String {
        format!("{}-worker", self.spec.name)
    }

    /// The replica count the app runs with at rest: the autoscaler's floor when it scales, else the fixed count.
    /// Rollout strategy and disruption budget are sized on this.
    pub(super) fn baseline_replicas(&self) -> u32 {
        match &self.spec.autoscaling {
            Some(a) => a.min_replicas,
            None => self.spec.effective_replicas(),
        }
    }

    /// The labels on every object: the spec's own, then ours, which win so selectors cannot be hijacked.
    pub(super) fn labels(&self) -> Labels {
        let mut labels = self.spec.labels.clone();
        labels.extend(self.app_selector());
        labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
        labels.insert(PART_OF_LABEL.to_string(), self.spec.name.clone());
        labels
    }

    /// Metadata for a namespaced object of this app.
    pub(super) fn meta(&self, name: impl Into<String>) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: Some(self.spec.namespace.clone()),
            labels: Some(self.labels()),
            ..ObjectMeta::default()
        }
    }

    /// Labels every pod of the app carries, whatever its component (network isolation selects on these).
    pub(super) fn app_selector(&self) -> Labels {
        BTreeMap::from([
            (NAME_LABEL.to_string(), self.spec.name.clone()),
            (INSTANCE_LABEL.to_string(), self.spec.name.clone()),
        ])
    }

    /// The immutable selector of one component's Deployment; also the Service's and the budget's selector.
    pub(super) fn selector(&self, component: Component) -> Labels {
        let mut labels = self.app_selector();
        labels.insert(COMPONENT_LABEL.to_string(), component.as_str().to_string());
        labels
    }

    /// Labels on one component's pods.
    pub(super) fn pod_labels(&self, component: Component) -> Labels {
        let mut labels = self.labels();
        labels.extend(self.selector(component));
        labels.insert(VERSION_LABEL.to_string(), image_version(&self.spec.image));
        labels
    }
}

/// A `matchLabels` selector.
pub(super) fn match_labels(labels: Labels) -> LabelSelector {
    LabelSelector { match_labels: Some(labels), ..LabelSelector::default() }
}

/// Converts a count or seconds value into the `int32` Kubernetes wants, naming the spec field when it does not
/// fit (validation normally catches this first).
pub(super) fn to_i32<T>(field: &str, value: T) -> Result<i32>
where
    T: TryInto<i32> + Copy + std::fmt::Display,
{
    value.try_into().map_err(|_| Error::invalid_spec(field, format!("{value} does not fit a 32-bit integer")))
}

/// The version of an image as a label value: its tag, else the start of its digest, else `latest`.
pub(super) fn image_version(image: &str) -> String {
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    // A registry may carry a port (`host:5000/app`), so the tag is only looked for after the last `/`.
    let last_segment = name.rsplit('/').next().unwrap_or(name);
    let tag = last_segment.split_once(':').map(|(_, tag)| tag).filter(|t| !t.is_empty());
    let raw = match (tag, digest) {
        (Some(tag), _) => tag.to_string(),
        (None, Some(digest)) => {
            let hex = digest.split_once(':').map_or(digest, |(_, hex)| hex);
            hex.chars().take(12).collect()
        }
        (None, None) => String::new(),
    };
    let value = label_value(&raw);
    if value.is_empty() { "latest".to_string() } else { value }
}

/// `raw` made a valid label value: allowed characters only, at most 63 long, alphanumeric at both ends.
fn label_value(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
        .take(MAX_LABEL_VALUE)
        .collect();
    cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AutoscalingSpec, Framework, PlanTier};

    #[test]
    fn image_version_takes_the_tag_after_a_registry_port() {
        assert_eq!(image_version("registry.example.com/employee-management:1.4.2"), "1.4.2");
        assert_eq!(image_version("localhost:5000/shop/web"), "latest");
        assert_eq!(image_version("localhost:5000/shop/web:v2"), "v2");
        assert_eq!(image_version("nginx"), "latest");
        assert_eq!(image_version("nginx:"), "latest");
    }

    #[test]
    fn image_version_of_a_digest() {
        let digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        assert_eq!(image_version(&format!("repo/app@{digest}")), "0123456789ab");
        assert_eq!(image_version(&format!("repo/app:1.2@{digest}")), "1.2");
    }

    #[test]
    fn image_version_is_a_valid_label_value() {
        let long = format!("app:{}", "a".repeat(100));
        assert_eq!(image_version(&long).len(), MAX_LABEL_VALUE);
        assert_eq!(image_version("app:_v1+build.7_"), "v1-build.7");
    }

    #[test]
    fn our_labels_win_over_spec_labels() {
        let mut spec = AppSpec::new("shop", "web", "nginx:1.27", Framework::Static);
        spec.labels.insert(NAME_LABEL.to_string(), "other".to_string());
        spec.labels.insert("team".to_string(), "payments".to_string());
        let ctx = AppContext::offline(&spec);
        let labels = ctx.labels();
        assert_eq!(labels[NAME_LABEL], "web");
        assert_eq!(labels["team"], "payments");
        assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
        assert_eq!(labels[PART_OF_LABEL], "web");
        let pod = ctx.pod_labels(Component::Worker);
        assert_eq!(pod[COMPONENT_LABEL], "worker");
        assert_eq!(pod[VERSION_LABEL], "1.27");
    }

    #[test]
    fn baseline_replicas_follow_the_autoscaler_floor() {
        let mut spec = AppSpec::new("shop", "web", "nginx:1.27", Framework::Static);
        spec.tier = PlanTier::Advanced;
        assert_eq!(AppContext::offline(&spec).baseline_replicas(), 3);
        spec.autoscaling = Some(AutoscalingSpec {
            min_replicas: 1,
            max_replicas: 4,
            cpu_target_percent: Some(70),
            memory_target_percent: None,
            scale_up: None,
            scale_down: None,
        });
        assert_eq!(AppContext::offline(&spec).baseline_replicas(), 1);
    }

    #[test]
    fn to_i32_names_the_field_on_overflow() {
        assert_eq!(to_i32("replicas", 3u32).unwrap(), 3);
        let err = to_i32("replicas", u32::MAX).unwrap_err();
        assert_eq!(err.violations()[0].field, "replicas");
    }
}

//! How many web pods run: the HorizontalPodAutoscaler and the PodDisruptionBudget.

use std::time::Duration;

use k8s_openapi::api::autoscaling::v2::{
    CrossVersionObjectReference, HPAScalingPolicy, HPAScalingRules, HorizontalPodAutoscaler,
    HorizontalPodAutoscalerBehavior, HorizontalPodAutoscalerSpec, MetricSpec, MetricTarget, ResourceMetricSource,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::meta::{AppContext, Component, match_labels, to_i32};
use crate::error::Result;
use crate::model::{AutoscalingSpec, IntOrPercent, ScalingRule};

/// CPU target when the spec names neither CPU nor memory: an autoscaler without a metric never scales.
const DEFAULT_CPU_TARGET_PERCENT: u32 = 70;

/// The autoscaler for the web Deployment.
pub(super) fn hpa(ctx: &AppContext<'_>, autoscaling: &AutoscalingSpec) -> Result<HorizontalPodAutoscaler> {
    let mut metrics = Vec::new();
    let cpu = match (autoscaling.cpu_target_percent, autoscaling.memory_target_percent) {
        (None, None) => Some(DEFAULT_CPU_TARGET_PERCENT),
        (cpu, _) => cpu,
    };
    if let Some(cpu) = cpu {
        metrics.push(utilization("cpu", to_i32("autoscaling.cpu_target_percent", cpu)?));
    }
    if let Some(memory) = autoscaling.memory_target_percent {
        metrics.push(utilization("memory", to_i32("autoscaling.memory_target_percent", memory)?));
    }
    let scale_up = match &autoscaling.scale_up {
        Some(rule) => rules(rule, "Max", "autoscaling.scale_up")?,
        None => default_scale_up(),
    };
    let scale_down = match &autoscaling.scale_down {
        Some(rule) => rules(rule, "Min", "autoscaling.scale_down")?,
        None => default_scale_down(),
    };
    Ok(HorizontalPodAutoscaler {
        metadata: ctx.meta(ctx.name()),
        spec: Some(HorizontalPodAutoscalerSpec {
            scale_target_ref: CrossVersionObjectReference {
                api_version: Some("apps/v1".to_string()),
                kind: "Deployment".to_string(),
                name: ctx.name().to_string(),
            },
            min_replicas: Some(to_i32("autoscaling.min_replicas", autoscaling.min_replicas)?),
            max_replicas: to_i32("autoscaling.max_replicas", autoscaling.max_replicas)?,
            metrics: Some(metrics),
            behavior: Some(HorizontalPodAutoscalerBehavior { scale_up: Some(scale_up), scale_down: Some(scale_down) }),
        }),
        status: None,
    })
}

fn utilization(resource: &str, percent: i32) -> MetricSpec {
    MetricSpec {
        type_: "Resource".to_string(),
        resource: Some(ResourceMetricSource {
            name: resource.to_string(),
            target: MetricTarget {
                type_: "Utilization".to_string(),
                average_utilization: Some(percent),
                ..MetricTarget::default()
            },
        }),
        ..MetricSpec::default()
    }
}

/// One direction's behaviour. With neither limit set the API server's default policies apply.
fn rules(rule: &ScalingRule, select: &str, field: &str) -> Result<HPAScalingRules> {
    let period = seconds(&format!("{field}.period"), rule.period)?;
    let mut policies = Vec::new();
    if let Some(pods) = rule.max_pods_per_period {
        policies.push(policy("Pods", to_i32(&format!("{field}.max_pods_per_period"), pods)?, period));
    }
    if let Some(percent) = rule.max_percent_per_period {
        policies.push(policy("Percent", to_i32(&format!("{field}.max_percent_per_period"), percent)?, period));
    }
    Ok(HPAScalingRules {
        stabilization_window_seconds: Some(seconds(
            &format!("{field}.stabilization_window"),
            rule.stabilization_window,
        )?),
        policies: (!policies.is_empty()).then_some(policies),
        select_policy: Some(select.to_string()),
        tolerance: None,
    })
}

/// Kubernetes' own scale-up default, written out so the rendered object says what will happen.
fn default_scale_up() -> HPAScalingRules {
    HPAScalingRules {
        stabilization_window_seconds: Some(0),
        policies: Some(vec![policy("Percent", 100, 15), policy("Pods", 4, 15)]),
        select_policy: Some("Max".to_string()),
        tolerance: None,
    }
}

/// Scale down slowly: five minutes of stable low load, then at most half the pods a minute, so a brief dip
/// does not drop capacity the next spike needs.
fn default_scale_down() -> HPAScalingRules {
    HPAScalingRules {
        stabilization_window_seconds: Some(300),
        policies: Some(vec![policy("Percent", 50, 60)]),
        select_policy: Some("Min".to_string()),
        tolerance: None,
    }
}

fn policy(kind: &str, value: i32, period_seconds: i32) -> HPAScalingPolicy {
    HPAScalingPolicy { type_: kind.to_string(), value, period_seconds }
}

fn seconds(field: &str, d: Duration) -> Result<i32> {
    to_i32(field, d.as_secs())
}

/// The web pods' disruption budget: the spec's, else one pod at a time when there are several; none for a
/// single replica, where any budget would block node drains forever.
pub(super) fn pdb(ctx: &AppContext<'_>) -> Result<Option<PodDisruptionBudget>> {
    let explicit =
        ctx.spec.disruption_budget.as_ref().filter(|b| b.min_available.is_some() || b.max_unavailable.is_some());
    let (min_available, max_unavailable) = match explicit {
        Some(budget) => (
            budget.min_available.as_ref().map(|v| int_or_percent("disruption_budget.min_available", v)).transpose()?,
            budget
                .max_unavailable
                .as_ref()
                .map(|v| int_or_percent("disruption_budget.max_unavailable", v))
                .transpose()?,
        ),
        None if ctx.baseline_replicas() >= 2 => (None, Some(IntOrString::Int(1))),
        None => return Ok(None),
    };
    Ok(Some(PodDisruptionBudget {
        metadata: ctx.meta(ctx.name()),
        spec: Some(PodDisruptionBudgetSpec {
            selector: Some(match_labels(ctx.selector(Component::Web))),
            min_available,
            max_unavailable,
            // Evicting a pod that is not ready anyway costs no availability and keeps drains moving.
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".to_string()),
        }),
        status: None,
    }))
}

fn int_or_percent(field: &str, value: &IntOrPercent) -> Result<IntOrString> {
    Ok(match value {
        IntOrPercent::Int(n) => IntOrString::Int(to_i32(field, *n)?),
        IntOrPercent::Percent(p) => IntOrString::String(p.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppSpec, DisruptionBudgetSpec, Framework};

    fn autoscaling() -> AutoscalingSpec {
        AutoscalingSpec {
            min_replicas: 2,
            max_replicas: 10,
            cpu_target_percent: None,
            memory_target_percent: Some(80),
            scale_up: Some(ScalingRule {
                stabilization_window: Duration::from_secs(30),
                max_pods_per_period: Some(4),
                max_percent_per_period: Some(100),
                period: Duration::from_secs(15),
            }),
            scale_down: None,
        }
    }

    fn spec() -> AppSpec {
        AppSpec::new("shop", "web", "registry.example/web:1.0", Framework::Flask)
    }

    #[test]
    fn rules_become_policies_with_their_period() {
        let s = spec();
        let h = hpa(&AppContext::offline(&s), &autoscaling()).unwrap().spec.unwrap();
        let metrics = h.metrics.unwrap();
        assert_eq!(metrics.len(), 1, "memory only: no implicit cpu metric");
        assert_eq!(metrics[0].resource.as_ref().unwrap().name, "memory");
        let up = h.behavior.clone().unwrap().scale_up.unwrap();
        assert_eq!(up.stabilization_window_seconds, Some(30));
        assert_eq!(up.select_policy.as_deref(), Some("Max"));
        let policies = up.policies.unwrap();
        assert_eq!(policies, [policy("Pods", 4, 15), policy("Percent", 100, 15)]);
        let down = h.behavior.unwrap().scale_down.unwrap();
        assert_eq!(down.stabilization_window_seconds, Some(300));
        assert_eq!(down.select_policy.as_deref(), Some("Min"));
    }

    #[test]
    fn no_metric_named_defaults_to_cpu() {
        let s = spec();
        let mut a = autoscaling();
        a.memory_target_percent = None;
        let metrics = hpa(&AppContext::offline(&s), &a).unwrap().spec.unwrap().metrics.unwrap();
        assert_eq!(metrics.len(), 1);
        let resource = metrics[0].resource.as_ref().unwrap();
        assert_eq!((resource.name.as_str(), resource.target.average_utilization), ("cpu", Some(70)));
    }

    #[test]
    fn a_rule_without_limits_leaves_policies_to_the_api_server() {
        let rule = ScalingRule {
            stabilization_window: Duration::from_secs(120),
            max_pods_per_period: None,
            max_percent_per_period: None,
            period: Duration::from_secs(60),
        };
        let r = rules(&rule, "Min", "autoscaling.scale_down").unwrap();
        assert!(r.policies.is_none());
        assert_eq!(r.stabilization_window_seconds, Some(120));
    }

    #[test]
    fn explicit_budget_percent_and_int() {
        let mut s = spec();
        s.replicas = Some(1);
        s.disruption_budget = Some(DisruptionBudgetSpec {
            min_available: Some(IntOrPercent::Percent("50%".into())),
            max_unavailable: None,
        });
        let budget = pdb(&AppContext::offline(&s)).unwrap().unwrap().spec.unwrap();
        assert_eq!(budget.min_available, Some(IntOrString::String("50%".into())));
        assert!(budget.max_unavailable.is_none());
        s.disruption_budget =
            Some(DisruptionBudgetSpec { min_available: None, max_unavailable: Some(IntOrPercent::Int(2)) });
        let budget = pdb(&AppContext::offline(&s)).unwrap().unwrap().spec.unwrap();
        assert_eq!(budget.max_unavailable, Some(IntOrString::Int(2)));
        assert_eq!(budget.selector.unwrap().match_labels.unwrap()["app.kubernetes.io/component"], "web");
    }

    #[test]
    fn default_budget_follows_the_autoscaler_floor() {
        let mut s = spec();
        s.replicas = Some(1);
        let mut a = autoscaling();
        a.min_replicas = 3;
        s.autoscaling = Some(a);
        let budget = pdb(&AppContext::offline(&s)).unwrap().unwrap().spec.unwrap();
        assert_eq!(budget.max_unavailable, Some(IntOrString::Int(1)));
    }
}

//! Synthetic usage: plausible, deterministic samples for workloads that have no recorded usage.
//!
//! CPU follows a daily wave (±30 % around its mean, peaking at 06:00 UTC) with ±5 % noise; memory is flatter
//! (±5 % wave, ±2.5 % noise). The mean is a fraction of the requests: set with
//! [`super::SimCloud::set_usage`], else derived from the app's name and the seed, between 0.15 and 0.6.

use std::f64::consts::PI;

use jiff::{SignedDuration, Timestamp};

use super::ident::{hash64, unit};
use crate::model::{AppRef, Cpu, Memory, TimeWindow, UsageSample, WorkloadProfile};

/// At most this many samples per workload: hourly over a 31-day window, coarser beyond.
pub(crate) const MAX_SAMPLES: i64 = 24 * 31;

/// The default share of its requests an app uses, from its name and the seed: 0.15 to 0.6.
pub(crate) fn default_fraction(seed: u64, app: &AppRef, resource: &str) -> f64 {
    let h = hash64(seed, &[b"usage", resource.as_bytes(), app.namespace.as_bytes(), app.name.as_bytes()]);
    0.15 + 0.45 * unit(h)
}

/// Hours between samples for a window: 1, or more so that at most [`MAX_SAMPLES`] fit.
fn step_hours(window: &TimeWindow) -> i64 {
    let hours = window.hours().ceil() as i64;
    ((hours + MAX_SAMPLES - 1) / MAX_SAMPLES).max(1)
}

/// Noise in `[-amplitude, amplitude)`, fixed per workload, resource and sample time.
fn noise(seed: u64, profile: &WorkloadProfile, resource: &str, at: Timestamp, amplitude: f64) -> f64 {
    let w = &profile.workload;
    let second = at.as_second().to_le_bytes();
    let h = hash64(seed, &[b"noise", resource.as_bytes(), w.namespace.as_bytes(), w.name.as_bytes(), &second]);
    (unit(h) * 2.0 - 1.0) * amplitude
}

/// Synthetic samples for one workload over `window`, summed over its replicas.
pub(crate) fn synthetic(
    profile: &WorkloadProfile,
    cpu_fraction: f64,
    memory_fraction: f64,
    window: &TimeWindow,
    seed: u64,
) -> Vec<UsageSample> {
    let step = SignedDuration::from_hours(step_hours(window));
    let cpu_mean = profile.cpu_request.millis() as f64 * profile.replicas * cpu_fraction;
    let memory_mean = profile.memory_request.bytes() as f64 * profile.replicas * memory_fraction;
    let mut samples = Vec::new();
    let mut at = window.start;
    while at < window.end {
        let hour_of_day = at.as_second().rem_euclid(86_400) as f64 / 3600.0;
        let wave = (2.0 * PI * hour_of_day / 24.0).sin();
        let cpu = cpu_mean * (1.0 + 0.3 * wave) * (1.0 + noise(seed, profile, "cpu", at, 0.05));
        let memory = memory_mean * (1.0 + 0.05 * wave) * (1.0 + noise(seed, profile, "memory", at, 0.025));
        samples.push(UsageSample {
            workload: profile.workload.clone(),
            at,
            cpu: Cpu::from_millis(cpu.max(0.0).round() as u64),
            memory: Memory::from_bytes(memory.max(0.0).round() as u64),
        });
        match at.checked_add(step) {
            Ok(next) => at = next,
            Err(_) => break,
        }
    }
    samples
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::WorkloadRef;

    fn profile() -> WorkloadProfile {
        WorkloadProfile {
            workload: WorkloadRef::new("shop", "web"),
            replicas: 2.0,
            cpu_request: Cpu::from_millis(250),
            memory_request: Memory::from_mib(256),
            memory_limit: Some(Memory::from_mib(512)),
            interruptible: true,
            node_pool: "general".into(),
        }
    }

    fn epoch() -> Timestamp {
        Timestamp::constant(1_767_225_600, 0)
    }

    #[test]
    fn hourly_samples_with_a_daily_wave_around_the_fraction() {
        let window = TimeWindow::last_hours(epoch(), 48);
        let samples = synthetic(&profile(), 0.4, 0.5, &window, 1);
        assert_eq!(samples.len(), 48);
        assert!(samples.iter().all(|s| window.contains(s.at)));
        let mean_cpu = samples.iter().map(|s| s.cpu.millis() as f64).sum::<f64>() / 48.0;
        assert!((mean_cpu - 200.0).abs() < 10.0, "mean {mean_cpu} ≈ 250m × 2 × 0.4");
        let max = samples.iter().map(|s| s.cpu.millis()).max().unwrap();
        let min = samples.iter().map(|s| s.cpu.millis()).min().unwrap();
        assert!(max > 240 && min < 160, "a daily wave: {min}..{max}");
        let mean_mem = samples.iter().map(|s| s.memory.bytes() as f64).sum::<f64>() / 48.0;
        let expected = 256.0 * 1024.0 * 1024.0 * 2.0 * 0.5;
        assert!((mean_mem / expected - 1.0).abs() < 0.02);
    }

    #[test]
    fn long_windows_are_sampled_coarser() {
        let window = TimeWindow::last_hours(epoch(), 24 * 90);
        let samples = synthetic(&profile(), 0.3, 0.3, &window, 1);
        assert!(samples.len() as i64 <= MAX_SAMPLES);
        assert_eq!(samples.len(), 720, "every 3 hours over 90 days");
        assert_eq!(synthetic(&profile(), 0.3, 0.3, &TimeWindow::last_hours(epoch(), 24 * 31), 1).len(), 744);
    }

    #[test]
    fn samples_depend_only_on_inputs_and_seed() {
        let window = TimeWindow::last_hours(epoch(), 24);
        let a = synthetic(&profile(), 0.3, 0.3, &window, 9);
        assert_eq!(a, synthetic(&profile(), 0.3, 0.3, &window, 9));
        assert_ne!(a, synthetic(&profile(), 0.3, 0.3, &window, 10));
        let f = default_fraction(0, &AppRef::new("shop", "web"), "cpu");
        assert!((0.15..0.6).contains(&f));
        assert_eq!(f, default_fraction(0, &AppRef::new("shop", "web"), "cpu"));
        assert_ne!(f, default_fraction(0, &AppRef::new("shop", "api"), "cpu"));
    }
}

//! Retry decorators. (Being written.)

use std::time::Duration;

/// Retry configuration.
#[derive(Debug, Clone)]
pub struct RetryConfig {
    /// Attempts in all.
    pub max_attempts: u32,
    /// First backoff.
    pub initial_backoff: Duration,
}

/// Retry decorator.
#[derive(Debug, Clone)]
pub struct Retrying<T> {
    inner: T,
    config: RetryConfig,
}

impl<T> Retrying<T> {
    /// Wraps.
    pub fn new(inner: T, config: RetryConfig) -> Self {
        Self { inner, config }
    }
    /// Inner.
    pub fn inner(&self) -> &T {
        &self.inner
    }
    /// Config.
    pub fn config(&self) -> &RetryConfig {
        &self.config
    }
}

//! Shared helpers of wooo's test suite.

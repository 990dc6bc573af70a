//! wooo test suite (one binary).

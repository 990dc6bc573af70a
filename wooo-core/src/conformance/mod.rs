//! The public conformance suite. (Being written.)

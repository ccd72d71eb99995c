//! wskit's load generator and baselines.

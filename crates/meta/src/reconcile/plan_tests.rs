//! Tests of judging chunks.

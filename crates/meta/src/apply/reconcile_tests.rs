//! Tests of the reconciler's commands.

//! Fault injection for trying failover: a voter can be *isolated*, cut off
//! from the other voters as a network partition would — its outgoing Raft
//! RPCs fail as unreachable and it refuses incoming ones — while clients can
//! still reach it and see that it serves neither writes nor reads. Only a
//! voter started with `meta.fault_injection = true` accepts the switch
//! (`POST /v1/meta/fault`, `cairn admin meta isolate|heal`).

use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Path of the switch on a voter.
pub const META_FAULT_PATH: &str = "/v1/meta/fault";

/// What `POST /v1/meta/fault` sets (postcard, like every internal message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultSetting {
    /// Cut this voter's Raft traffic in both directions.
    pub isolated: bool,
}

/// The switch, shared by the Raft network (outgoing) and the server (incoming).
#[derive(Debug, Clone, Default)]
pub struct Isolation {
    enabled: bool,
    isolated: Arc<AtomicBool>,
}

impl Isolation {
    /// A switch that can be flipped only when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            isolated: Arc::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether Raft traffic is currently cut.
    pub fn is_isolated(&self) -> bool {
        self.isolated.load(Ordering::SeqCst)
    }

    /// Sets the switch; false when fault injection is not enabled here.
    pub fn set(&self, setting: FaultSetting) -> bool {
        if !self.enabled {
            return false;
        }
        self.isolated.store(setting.isolated, Ordering::SeqCst);
        true
    }
}

#[cfg(test)]
#[path = "fault_tests.rs"]
mod tests;

//! Helpers shared by the integration tests of the `cairn` binary: free
//! loopback ports, deterministic test data, and a runtime for tests that
//! drive async clients from synchronous test code.

#![allow(dead_code)] // each test binary uses its own subset

pub mod procs;

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `len` deterministic pseudo-random bytes (xorshift) for `seed`, so tests
/// need no RNG crate and can regenerate what they wrote.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A two-worker multi-thread runtime.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

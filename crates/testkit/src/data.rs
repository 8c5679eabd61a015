//! Seeded test data: `pattern` (bytes a test can regenerate instead of
//! keeping), and `Rng`, the one source of randomness of a test, seeded from
//! `CAIRN_TEST_SEED` or from the clock with the seed printed, so a failing
//! run can be replayed.

/// Environment variable that fixes the seed of [`Rng::from_env`].
pub const SEED_ENV: &str = "CAIRN_TEST_SEED";

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

/// The seed of this run: `CAIRN_TEST_SEED` when set, else one from the
/// clock. Printed as `CAIRN_TEST_SEED=N`, so the run can be replayed.
pub fn test_seed() -> u64 {
    let seed = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| cairn_types::now_millis() as u64 | 1);
    println!("{SEED_ENV}={seed}");
    seed
}

/// xorshift64*: small, fast and reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    /// Seeds through splitmix64, so nearby seeds give unrelated sequences.
    pub fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    /// Seeded by [`test_seed`] (printed).
    pub fn from_env() -> Self {
        Self::new(test_seed())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}

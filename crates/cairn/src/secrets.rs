//! Random secrets: the access key pairs `cairn server` and `cairn admin key
//! create` make, and the cluster secret, as random alphanumeric strings.

use rand::Rng;

/// `len` random alphanumeric characters (upper case only when `upper_only`,
/// as access key ids are).
pub fn random_string(len: usize, upper_only: bool) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| {
            let c = char::from(rng.sample(rand::distr::Alphanumeric));
            if upper_only {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// Length of an access key id (`CK` and 18 upper-case letters or digits).
pub const ACCESS_KEY_LEN: usize = 20;
/// Length of a secret key.
pub const SECRET_KEY_LEN: usize = 40;

/// A new random (access key id, secret key) pair.
pub fn new_key_pair() -> (String, String) {
    (
        format!("CK{}", random_string(ACCESS_KEY_LEN - 2, true)),
        random_string(SECRET_KEY_LEN, false),
    )
}

//! Secrets `cairn server` makes for itself on first start: the root access
//! key pair and the cluster secret, as random alphanumeric strings.

use rand::Rng;

/// `len` random alphanumeric characters (upper case only when `upper_only`,
/// as access key ids are).
pub(crate) fn random_string(len: usize, upper_only: bool) -> String {
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

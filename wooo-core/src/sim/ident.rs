//! Deterministic derived values: hashes, fake CA data, tokens, endpoints.
//!
//! Our own hash (FNV-1a, then a SplitMix64 finaliser) rather than `std`'s, whose output may change between Rust
//! releases: the simulator promises the same outputs for the same inputs and seed.

use jiff::Timestamp;

/// A 64-bit hash of a seed and some parts. Parts are length-prefixed, so `("ab", "c")` and `("a", "bc")` differ.
pub(crate) fn hash64(seed: u64, parts: &[&[u8]]) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = FNV_OFFSET ^ seed;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    };
    for part in parts {
        feed(&(part.len() as u64).to_le_bytes());
        feed(part);
    }
    splitmix64(h)
}

/// SplitMix64's finaliser: spreads every input bit over the output.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A hash mapped to `[0, 1)`.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Standard base64 with padding (RFC 4648 §4), the encoding of kubeconfig `certificate-authority-data`.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `n` deterministic pseudo-random bytes.
fn bytes(seed: u64, parts: &[&[u8]], n: usize) -> Vec<u8> {
    let mut state = hash64(seed, parts);
    let mut out = Vec::with_capacity(n + 8);
    while out.len() < n {
        state = splitmix64(state);
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(n);
    out
}

/// The API endpoint of a simulated cluster. `.invalid` (RFC 2606) never resolves, so nothing can reach it.
pub(crate) fn endpoint(name: &str, region: &str) -> String {
    format!("https://{name}.{region}.sim.invalid")
}

/// Base64 of a fake PEM certificate, unique per cluster incarnation (name and creation time) and seed. It is not
/// a parseable certificate: nothing should ever trust it.
pub(crate) fn ca_data(seed: u64, name: &str, created_at: Timestamp) -> String {
    let created = created_at.as_second().to_le_bytes();
    let body = base64(&bytes(seed, &[b"ca", name.as_bytes(), &created], 96));
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    base64(pem.as_bytes())
}

/// A bearer token, unique per cluster incarnation and seed.
pub(crate) fn token(seed: u64, name: &str, created_at: Timestamp) -> String {
    let created = created_at.as_second().to_le_bytes();
    let a = hash64(seed, &[b"token", name.as_bytes(), &created]);
    let b = splitmix64(a);
    format!("sim-{a:016x}{b:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn hash_depends_on_seed_and_part_boundaries() {
        let a = hash64(1, &[b"ab", b"c"]);
        assert_eq!(a, hash64(1, &[b"ab", b"c"]));
        assert_ne!(a, hash64(2, &[b"ab", b"c"]));
        assert_ne!(a, hash64(1, &[b"a", b"bc"]));
        let u = unit(u64::MAX);
        assert!((0.0..1.0).contains(&u));
    }

    #[test]
    fn ca_data_is_base64_of_a_pem_block_and_varies_per_incarnation() {
        let t0 = Timestamp::constant(1_767_225_600, 0);
        let t1 = Timestamp::constant(1_767_225_700, 0);
        let ca = ca_data(0, "demo", t0);
        assert_eq!(ca, ca_data(0, "demo", t0));
        assert_ne!(ca, ca_data(0, "demo", t1));
        assert_ne!(ca, ca_data(1, "demo", t0));
        // "-----BEGIN CERTIFICATE-----\n" in base64, as the first 27 bytes encode to 36 characters.
        assert!(ca.starts_with(&base64(b"-----BEGIN CERTIFICATE-----\n")[..36]));
        assert!(token(0, "demo", t0).starts_with("sim-"));
        assert_ne!(token(0, "demo", t0), token(0, "other", t0));
    }
}

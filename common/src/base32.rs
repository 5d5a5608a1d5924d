//! Crockford's base32: digits and upper-case letters without I, L, O and U.
//!
//! Every symbol is in the QR code alphanumeric set, so identifiers written with it keep QR
//! codes small, and people can read them aloud without confusing 0/O or 1/I/L.

/// The 32 symbols, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Encodes `bytes` (a big-endian number) as exactly `symbols` characters: extra leading bits
/// of `bytes` are dropped, missing ones are zero.
pub fn encode(bytes: &[u8], symbols: usize) -> String {
    let total_bits = bytes.len() * 8;
    let wanted_bits = symbols * 5;
    (0..symbols)
        .map(|i| {
            let mut value = 0usize;
            for b in 0..5 {
                // Position of this bit counted from the least significant end.
                let from_end = wanted_bits - 1 - (i * 5 + b);
                let set = if from_end < total_bits {
                    let bit = total_bits - 1 - from_end;
                    (bytes[bit / 8] >> (7 - bit % 8)) & 1
                } else {
                    0
                };
                value = (value << 1) | usize::from(set);
            }
            char::from(ALPHABET[value])
        })
        .collect()
}

/// The inverse of [`encode`]: reads `text` as a big-endian number and returns its low
/// `bytes` bytes. `None` if a character is not a symbol or the number needs more than
/// `bytes` bytes (extra high bits must be zero).
pub fn decode(text: &str, bytes: usize) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text.chars().map(decode_symbol).collect::<Option<_>>()?;
    let total_bits = symbols.len() * 5;
    let wanted_bits = bytes * 8;
    let mut out = vec![0u8; bytes];
    for (i, value) in symbols.iter().enumerate() {
        for b in 0..5 {
            if (value >> (4 - b)) & 1 == 0 {
                continue;
            }
            let from_end = total_bits - 1 - (i * 5 + b);
            if from_end >= wanted_bits {
                return None;
            }
            let bit = wanted_bits - 1 - from_end;
            out[bit / 8] |= 1 << (7 - bit % 8);
        }
    }
    Some(out)
}

/// Reads one symbol, accepting lower case and Crockford's look-alikes (O→0, I/L→1).
pub fn decode_symbol(c: char) -> Option<u8> {
    let c = match c.to_ascii_uppercase() {
        'O' => '0',
        'I' | 'L' => '1',
        other => other,
    };
    let position = ALPHABET.iter().position(|&a| char::from(a) == c)?;
    u8::try_from(position).ok()
}

/// Normalises a typed or scanned identifier: drops hyphens and spaces, folds look-alikes,
/// upper-cases. Returns `None` if a character is not a base32 symbol.
pub fn canonical(input: &str) -> Option<String> {
    input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| decode_symbol(c).map(|v| char::from(ALPHABET[usize::from(v)])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_known_values() {
        assert_eq!(encode(&[0x00], 1), "0");
        assert_eq!(encode(&[0x1f], 1), "Z");
        assert_eq!(encode(&[0xff, 0xff], 3), "ZZZ");
        assert_eq!(encode(&[0x00, 0x21], 2), "11");
        // Missing leading bits are zero.
        assert_eq!(encode(&[0xff], 2), "7Z");
    }

    #[test]
    fn decode_is_the_inverse_of_encode() {
        for bytes in [vec![0u8; 10], vec![0xff; 10], (0..79u8).collect::<Vec<_>>()] {
            let symbols = (bytes.len() * 8).div_ceil(5);
            assert_eq!(decode(&encode(&bytes, symbols), bytes.len()), Some(bytes.clone()));
        }
        assert_eq!(decode("ZZZ", 1), None, "more bits than one byte holds");
        assert_eq!(decode("7Z", 1), Some(vec![0xff]));
        assert_eq!(decode("U", 1), None, "not a symbol");
    }

    #[test]
    fn canonical_folds_look_alikes_and_separators() {
        assert_eq!(canonical("ab-cd io l").as_deref(), Some("ABCD101"));
        assert_eq!(canonical("U"), None);
        assert_eq!(canonical("!"), None);
    }
}

//! The little of DER that EC keys need: reading tag-length-value items with every length checked
//! against the bytes that are there (key files are hostile input like any other), and the one
//! structure weightguard writes, a P-256 SubjectPublicKeyInfo.

/// A DER item: its tag byte and its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item<'a> {
    pub tag: u8,
    pub content: &'a [u8],
}

pub const SEQUENCE: u8 = 0x30;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
/// `[0]` and `[1]`, explicit and constructed: ECPrivateKey's parameters and public key.
pub const CONTEXT_0: u8 = 0xa0;
pub const CONTEXT_1: u8 = 0xa1;

/// Reads items one after another from a byte string.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next item. Only the definite, shortest-form lengths DER allows, and at most four
    /// length bytes (no key comes near 4 GiB).
    pub fn item(&mut self) -> Result<Item<'a>, String> {
        let (&tag, after_tag) = self
            .rest
            .split_first()
            .ok_or("the DER ends where an item was expected")?;
        if tag & 0x1f == 0x1f {
            return Err("a multi-byte DER tag (not used by EC keys)".into());
        }
        let (&first, after_len) = after_tag
            .split_first()
            .ok_or("the DER ends inside an item's length")?;
        let (len, body) = if first < 0x80 {
            (usize::from(first), after_len)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 {
                return Err("an indefinite DER length (BER, not DER)".into());
            }
            if count > 4 {
                return Err(format!("a DER length of {count} bytes"));
            }
            let bytes = after_len
                .get(..count)
                .ok_or("the DER ends inside an item's length")?;
            if bytes[0] == 0 {
                return Err("a DER length with a leading zero byte".into());
            }
            let len = bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            if len < 0x80 {
                return Err("a long-form DER length for a short item".into());
            }
            (len, &after_len[count..])
        };
        let content = body
            .get(..len)
            .ok_or_else(|| format!("a DER item of {len} bytes where {} remain", body.len()))?;
        self.rest = &body[len..];
        Ok(Item { tag, content })
    }

    /// The next item, which must carry `tag`; `what` names it in the error.
    pub fn expect(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        let item = self.item().map_err(|e| format!("{what}: {e}"))?;
        if item.tag != tag {
            return Err(format!(
                "{what}: DER tag 0x{:02x} where 0x{tag:02x} was expected",
                item.tag
            ));
        }
        Ok(item.content)
    }

    /// The next item if it carries `tag`, else nothing (and nothing consumed).
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, String> {
        match self.rest.first() {
            Some(&t) if t == tag => Ok(Some(self.item()?.content)),
            _ => Ok(None),
        }
    }
}

/// The content of a BIT STRING without unused bits (the only kind keys use).
pub fn bit_string_bytes(content: &[u8]) -> Result<&[u8], String> {
    match content.split_first() {
        Some((0, bytes)) => Ok(bytes),
        Some((n, _)) => Err(format!("a BIT STRING with {n} unused bits")),
        None => Err("an empty BIT STRING".into()),
    }
}

/// Object identifiers weightguard recognises in key files, by their DER content.
pub mod oids {
    /// id-ecPublicKey, 1.2.840.10045.2.1.
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// prime256v1 (P-256, secp256r1), 1.2.840.10045.3.1.7.
    pub const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// secp384r1 (P-384), 1.3.132.0.34.
    pub const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
    /// secp521r1 (P-521), 1.3.132.0.35.
    pub const P521: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x23];
    /// secp256k1, 1.3.132.0.10.
    pub const SECP256K1: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x0a];
    /// rsaEncryption, 1.2.840.113549.1.1.1.
    pub const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// Ed25519, 1.3.101.112.
    pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70];

    /// A name for a key algorithm or curve OID, for messages.
    pub fn name(oid: &[u8]) -> String {
        match oid {
            P256 => "P-256".into(),
            P384 => "P-384".into(),
            P521 => "P-521".into(),
            SECP256K1 => "secp256k1".into(),
            RSA => "RSA".into(),
            ED25519 => "Ed25519".into(),
            EC_PUBLIC_KEY => "EC".into(),
            _ => format!("an unknown algorithm (OID bytes {})", hex(oid)),
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The DER SubjectPublicKeyInfo of a P-256 key given as its uncompressed point (65 bytes,
/// `04 ‖ X ‖ Y`): what `openssl ec -pubout` and Python's `cryptography` write, byte for byte.
pub fn p256_spki(point: &[u8; 65]) -> Vec<u8> {
    let mut algorithm = vec![OID, oids::EC_PUBLIC_KEY.len() as u8];
    algorithm.extend_from_slice(oids::EC_PUBLIC_KEY);
    algorithm.extend_from_slice(&[OID, oids::P256.len() as u8]);
    algorithm.extend_from_slice(oids::P256);
    let mut body = vec![SEQUENCE, algorithm.len() as u8];
    body.extend_from_slice(&algorithm);
    // 66 bytes: no unused bits, then the point.
    body.extend_from_slice(&[BIT_STRING, 66, 0]);
    body.extend_from_slice(point);
    let mut out = vec![SEQUENCE, body.len() as u8];
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_checked() {
        assert!(Reader::new(&[0x30, 0x05, 1, 2]).item().is_err());
        assert!(Reader::new(&[0x30, 0x80]).item().is_err());
        assert!(Reader::new(&[0x30, 0x81, 0x05]).item().is_err());
        assert!(Reader::new(&[0x30, 0x85, 1, 1, 1, 1, 1]).item().is_err());
        assert!(Reader::new(&[0x30]).item().is_err());
        let mut r = Reader::new(&[0x02, 0x01, 0x01, 0x04, 0x00]);
        assert_eq!(r.expect(INTEGER, "version").unwrap(), &[1]);
        assert_eq!(r.optional(CONTEXT_0).unwrap(), None);
        assert_eq!(r.expect(OCTET_STRING, "key").unwrap(), &[] as &[u8]);
        assert!(r.is_empty());
    }

    #[test]
    fn spki_has_the_standard_prefix() {
        let spki = p256_spki(&[4u8; 65]);
        assert_eq!(spki.len(), 91);
        assert_eq!(&spki[..4], &[0x30, 0x59, 0x30, 0x13]);
    }
}

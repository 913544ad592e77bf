//! The age v1 header: parsed from hostile bytes with bounded work, written canonically, and
//! authenticated with its MAC.
//!
//! ```text
//! age-encryption.org/v1
//! -> TAG ARG…
//! BODY (canonical unpadded base64, 64 columns, last line shorter)
//! --- MAC
//! ```
//! The MAC is HMAC-SHA-256 keyed with HKDF-SHA-256(file key, salt "", info "header") over the
//! header up to and including `---`. It covers every stanza, including ones an identity does not
//! know, which is how the claims stanza is bound to the file key (C2SP age specification).

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use ring::{hkdf, hmac};

pub const VERSION_LINE: &str = "age-encryption.org/v1";
/// Largest header accepted. Real headers are hundreds of bytes per recipient.
pub const MAX_HEADER_BYTES: usize = 1 << 20;
/// Most stanzas accepted in one header.
pub const MAX_STANZAS: usize = 4096;

/// One stanza as it appears in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stanza {
    pub tag: String,
    pub args: Vec<String>,
    pub body: Vec<u8>,
}

impl Stanza {
    /// The stanza's canonical text, newline-terminated.
    pub fn encode(&self) -> String {
        let mut s = String::from("->");
        for a in std::iter::once(&self.tag).chain(&self.args) {
            s.push(' ');
            s.push_str(a);
        }
        s.push('\n');
        let b64 = STANDARD_NO_PAD.encode(&self.body);
        let mut rest = b64.as_str();
        loop {
            let (line, tail) = rest.split_at(rest.len().min(64));
            s.push_str(line);
            s.push('\n');
            rest = tail;
            if line.len() < 64 {
                break;
            }
        }
        s
    }
}

/// A parsed header.
#[derive(Debug, Clone)]
pub struct Header {
    pub stanzas: Vec<Stanza>,
    pub mac: [u8; 32],
    /// Header bytes up to and including `---` (what the MAC covers).
    pub mac_input_len: usize,
    /// Total header length including the MAC line: the payload starts here.
    pub len: usize,
}

/// Why a header did not parse: the offset and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderError {
    pub offset: u64,
    pub what: String,
}

fn err<T>(offset: usize, what: impl Into<String>) -> Result<T, HeaderError> {
    Err(HeaderError {
        offset: offset as u64,
        what: what.into(),
    })
}

/// Parses the header at the start of `bytes` (which may continue with the payload).
pub fn parse(bytes: &[u8]) -> Result<Header, HeaderError> {
    let mut pos = 0usize;
    let next_line = |pos: &mut usize| -> Result<(usize, &[u8]), HeaderError> {
        let start = *pos;
        let window = &bytes[start..bytes.len().min(MAX_HEADER_BYTES)];
        match window.iter().position(|&b| b == b'\n') {
            Some(i) => {
                *pos = start + i + 1;
                Ok((start, &window[..i]))
            }
            None if bytes.len() > MAX_HEADER_BYTES => err(
                start,
                format!("header longer than {MAX_HEADER_BYTES} bytes"),
            ),
            None => err(start, "the header ends before its MAC line"),
        }
    };
    let (_, first) = next_line(&mut pos)?;
    if first != VERSION_LINE.as_bytes() {
        return err(0, format!("expected the line `{VERSION_LINE}`"));
    }
    let mut stanzas = Vec::new();
    loop {
        let (at, line) = next_line(&mut pos)?;
        if let Some(mac) = line.strip_prefix(b"--- ") {
            let mac_input_len = at + 3;
            let mac = decode_canonical(mac)
                .ok()
                .and_then(|m| <[u8; 32]>::try_from(m).ok());
            let Some(mac) = mac else {
                return err(at + 4, "the MAC is not 32 bytes of canonical base64");
            };
            return Ok(Header {
                stanzas,
                mac,
                mac_input_len,
                len: pos,
            });
        }
        let Some(rest) = line.strip_prefix(b"-> ") else {
            return err(at, "expected a stanza (`-> `) or the MAC line (`--- `)");
        };
        if stanzas.len() >= MAX_STANZAS {
            return err(at, format!("more than {MAX_STANZAS} stanzas"));
        }
        let Ok(rest) = std::str::from_utf8(rest) else {
            return err(at, "stanza line is not text");
        };
        let mut words = rest.split(' ');
        let tag = words.next().unwrap_or_default();
        let args: Vec<String> = words.map(str::to_owned).collect();
        let visible = |s: &str| !s.is_empty() && s.bytes().all(|b| (33..=126).contains(&b));
        if !visible(tag) || !args.iter().all(|a| visible(a)) {
            return err(
                at,
                "stanza tag and arguments must be non-empty printable ASCII",
            );
        }
        let mut body = Vec::new();
        loop {
            let (at, line) = next_line(&mut pos)?;
            if line.len() > 64 {
                return err(at, "stanza body line longer than 64 columns");
            }
            let Ok(chunk) = decode_canonical(line) else {
                return err(at, "stanza body is not canonical unpadded base64");
            };
            body.extend_from_slice(&chunk);
            if line.len() < 64 {
                break;
            }
        }
        stanzas.push(Stanza {
            tag: tag.to_owned(),
            args,
            body,
        });
    }
}

/// Canonical unpadded base64: the standard alphabet, no padding, no non-zero trailing bits.
pub fn decode_canonical(text: &[u8]) -> Result<Vec<u8>, base64::DecodeError> {
    let out = STANDARD_NO_PAD.decode(text)?;
    // Re-encoding must give the same text, which rules out every non-canonical spelling.
    if STANDARD_NO_PAD.encode(&out).as_bytes() != text {
        return Err(base64::DecodeError::InvalidPadding);
    }
    Ok(out)
}

/// The header text up to and including `---`, for stanzas in order.
pub fn mac_input(stanzas: &[Stanza]) -> String {
    let mut s = format!("{VERSION_LINE}\n");
    for st in stanzas {
        s.push_str(&st.encode());
    }
    s.push_str("---");
    s
}

/// The complete header: MAC input, then ` MAC\n`.
pub fn encode(stanzas: &[Stanza], file_key: &[u8; 16]) -> Vec<u8> {
    let input = mac_input(stanzas);
    let mac = compute_mac(file_key, input.as_bytes());
    let mut out = input.into_bytes();
    out.push(b' ');
    out.extend_from_slice(STANDARD_NO_PAD.encode(mac).as_bytes());
    out.push(b'\n');
    out
}

/// HMAC-SHA-256 of `input` under HKDF(file key, "", "header").
pub fn compute_mac(file_key: &[u8; 16], input: &[u8]) -> [u8; 32] {
    let key_bytes: [u8; 32] = hkdf_sha256(file_key, b"", b"header");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
    let tag = hmac::sign(&key, input);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// Checks the MAC of a header read from `bytes` (constant time).
pub fn verify_mac(file_key: &[u8; 16], bytes: &[u8], header: &Header) -> bool {
    let key_bytes: [u8; 32] = hkdf_sha256(file_key, b"", b"header");
    let key = hmac::Key::new(hmac::HMAC_SHA256, &key_bytes);
    hmac::verify(&key, &bytes[..header.mac_input_len], &header.mac).is_ok()
}

/// HKDF-SHA-256 with a 32-byte output.
pub fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; 32] {
    struct Len32;
    impl hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let mut out = [0u8; 32];
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let info = [info];
    // Expanding 32 bytes from SHA-256 cannot fail (the limit is 255 × 32).
    let okm = prk.expand(&info, Len32).expect("32-byte HKDF output");
    okm.fill(&mut out).expect("32-byte HKDF output");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_parse_round_trips() {
        let stanzas = vec![
            Stanza {
                tag: "X25519".into(),
                args: vec!["abc".into()],
                body: vec![7; 32],
            },
            Stanza {
                tag: "custom".into(),
                args: vec![],
                body: vec![1; 48], // exactly 64 columns: needs an empty final line
            },
        ];
        let key = [9u8; 16];
        let mut bytes = encode(&stanzas, &key);
        bytes.extend_from_slice(b"payload");
        let h = parse(&bytes).unwrap();
        assert_eq!(h.stanzas, stanzas);
        assert!(verify_mac(&key, &bytes, &h));
        assert!(!verify_mac(&[8u8; 16], &bytes, &h));
        assert_eq!(&bytes[h.len..], b"payload");
    }

    #[test]
    fn malformed_headers_name_the_offset() {
        for (bytes, what) in [
            (&b"age-encryption.org/v2\n"[..], "expected the line"),
            (
                b"age-encryption.org/v1\n-> X\nAAAA\n",
                "ends before its MAC",
            ),
            (b"age-encryption.org/v1\n-> X\nAA=\n--- x\n", "canonical"),
            (b"age-encryption.org/v1\n->  X\n\n--- x\n", "printable"),
            (b"age-encryption.org/v1\n--- AAAA\n", "MAC is not 32 bytes"),
            (b"age-encryption.org/v1\nhello\n", "expected a stanza"),
        ] {
            let e = parse(bytes).unwrap_err();
            assert!(
                e.what.contains(what),
                "{:?}: {}",
                String::from_utf8_lossy(bytes),
                e.what
            );
        }
    }
}

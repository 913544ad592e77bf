//! PEM blocks (RFC 7468): `-----BEGIN LABEL-----`, base64 lines, `-----END LABEL-----`. Key
//! files may hold several (`openssl ecparam -genkey` writes the curve's parameters before the
//! key); text around the blocks is ignored, as OpenSSL ignores it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One block: its label and its decoded bytes; `encrypted` when it carries the legacy
/// `Proc-Type: 4,ENCRYPTED` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub label: String,
    pub der: Vec<u8>,
    pub encrypted: bool,
}

/// At most this many blocks are read from one file.
const MAX_BLOCKS: usize = 16;

/// Every block of `text`, in order.
pub fn parse(text: &str) -> Result<Vec<Block>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim_end);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        if blocks.len() == MAX_BLOCKS {
            return Err(format!("more than {MAX_BLOCKS} PEM blocks"));
        }
        let end = format!("-----END {label}-----");
        let mut body = String::new();
        let mut encrypted = false;
        let mut closed = false;
        for line in lines.by_ref() {
            if line == end {
                closed = true;
                break;
            }
            if line.starts_with("-----") {
                return Err(format!("PEM block {label} is not closed by `{end}`"));
            }
            // RFC 1421 headers (an encrypted traditional key's `Proc-Type`, `DEK-Info`).
            if let Some((name, value)) = line.split_once(':') {
                if name.trim() == "Proc-Type" && value.contains("ENCRYPTED") {
                    encrypted = true;
                }
                continue;
            }
            body.push_str(line.trim());
        }
        if !closed {
            return Err(format!("PEM block {label} has no `{end}` line"));
        }
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|e| format!("PEM block {label}: the base64 is invalid ({e})"))?;
        blocks.push(Block {
            label: label.to_owned(),
            der,
            encrypted,
        });
    }
    Ok(blocks)
}

/// `der` as a PEM block with 64-character lines and a final newline: what OpenSSL and Python's
/// `cryptography` write.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    // base64 output is ASCII, so any byte offset is a character boundary.
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let text = encode("PUBLIC KEY", &[1u8; 100]);
        let blocks = parse(&format!("comment\n{text}trailing\n")).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "PUBLIC KEY");
        assert_eq!(blocks[0].der, vec![1u8; 100]);
        assert!(parse("-----BEGIN X-----\nAAAA\n").is_err());
        assert!(parse("-----BEGIN X-----\n!!!!\n-----END X-----\n").is_err());
        assert!(parse("-----BEGIN X-----\nAA\n-----END Y-----\n").is_err());
        let enc = "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert!(parse(enc).unwrap()[0].encrypted);
    }
}

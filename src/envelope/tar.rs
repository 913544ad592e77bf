//! The plaintext container: a POSIX ustar stream of the artifact's regular files, written by
//! us and read back by a strict parser (regular files only, relative paths without `..`, no
//! duplicates, checksums verified), so `age -d | tar x` recovers the files with standard tools
//! and a hostile stream cannot write outside the output directory.

pub const BLOCK: usize = 512;
/// Longest entry name (the ustar name and prefix fields).
pub const MAX_NAME: usize = 255;

/// The 512-byte ustar header for a regular file `name` of `size` bytes.
pub fn file_header(name: &str, size: u64) -> Result<[u8; BLOCK], String> {
    check_name(name)?;
    let mut h = [0u8; BLOCK];
    let bytes = name.as_bytes();
    // Split long names into prefix (155) / name (100) at a '/'.
    let (prefix, base) = if bytes.len() <= 100 {
        (&b""[..], bytes)
    } else {
        let split = bytes[..bytes.len().min(156)]
            .iter()
            .rposition(|&b| b == b'/')
            .filter(|&i| bytes.len() - i - 1 <= 100 && i <= 155)
            .ok_or_else(|| format!("`{name}`: too long for a ustar header"))?;
        (&bytes[..split], &bytes[split + 1..])
    };
    h[..base.len()].copy_from_slice(base);
    octal(&mut h[100..108], 0o644);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    if size >= 8u64.pow(11) {
        // GNU base-256 size for files of 8 GiB and more.
        h[124] = 0x80;
        h[128..136].copy_from_slice(&size.to_be_bytes());
    } else {
        octal(&mut h[124..136], size);
    }
    octal(&mut h[136..148], 0);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[345..345 + prefix.len()].copy_from_slice(prefix);
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    octal(&mut h[148..155], u64::from(sum));
    h[155] = b' ';
    Ok(h)
}

/// Zero padding after `size` bytes of data, to the next block.
pub fn padding(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

fn octal(field: &mut [u8], v: u64) {
    let text = format!("{v:0width$o}", width = field.len() - 1);
    field[..text.len()].copy_from_slice(text.as_bytes());
    field[text.len()..].fill(0);
}

/// Names allowed in an envelope: relative, `/`-separated, no empty, `.` or `..` components, no
/// control characters.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!("`{name}`: entry names are 1–{MAX_NAME} bytes"));
    }
    if name.starts_with('/') || name.contains('\\') {
        return Err(format!("`{name}`: entry names must be relative"));
    }
    if name
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err(format!("`{name}`: empty, `.` or `..` path component"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!("`{name:?}`: control characters in an entry name"));
    }
    Ok(())
}

/// A parsed header block.
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    File {
        name: String,
        size: u64,
    },
    /// The first of the two zero blocks that end the archive.
    End,
}

/// Parses one header block strictly.
pub fn parse_header(h: &[u8; BLOCK]) -> Result<Entry, String> {
    if h.iter().all(|&b| b == 0) {
        return Ok(Entry::End);
    }
    let stored = parse_octal(&h[148..156]).ok_or("unreadable header checksum")?;
    let mut sum = 0u64;
    for (i, &b) in h.iter().enumerate() {
        sum += if (148..156).contains(&i) {
            32
        } else {
            u64::from(b)
        };
    }
    if sum != stored {
        return Err("header checksum mismatch".into());
    }
    if &h[257..263] != b"ustar\0" {
        return Err("not a ustar header".into());
    }
    if h[156] != b'0' && h[156] != 0 {
        return Err(format!(
            "entry type `{}`: only regular files are allowed",
            h[156] as char
        ));
    }
    let field = |r: std::ops::Range<usize>| -> Result<String, String> {
        let raw = &h[r];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
        String::from_utf8(raw[..end].to_vec()).map_err(|_| "entry name is not UTF-8".to_string())
    };
    let base = field(0..100)?;
    let prefix = field(345..500)?;
    let name = if prefix.is_empty() {
        base
    } else {
        format!("{prefix}/{base}")
    };
    check_name(&name)?;
    let size = if h[124] & 0x80 != 0 {
        if h[124] != 0x80 || h[125..128].iter().any(|&b| b != 0) {
            return Err("unsupported base-256 size".into());
        }
        u64::from_be_bytes(h[128..136].try_into().unwrap_or([0xff; 8]))
    } else {
        parse_octal(&h[124..136]).ok_or("unreadable entry size")?
    };
    Ok(Entry::File { name, size })
}

fn parse_octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_and_hostile_names_are_refused() {
        let long = format!("{}/model.safetensors", "d".repeat(120));
        for (name, size) in [
            ("a", 0u64),
            ("model.safetensors", 123),
            (long.as_str(), 9 << 30),
        ] {
            let h = file_header(name, size).unwrap();
            assert_eq!(
                parse_header(&h).unwrap(),
                Entry::File {
                    name: name.into(),
                    size
                }
            );
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a\nb",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let mut h = file_header("a", 1).unwrap();
        h[0] = b'b';
        assert!(parse_header(&h).unwrap_err().contains("checksum"));
        let mut h = file_header("a", 1).unwrap();
        h[156] = b'2'; // symlink
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        octal(&mut h[148..155], u64::from(sum));
        assert!(parse_header(&h).unwrap_err().contains("only regular files"));
    }
}

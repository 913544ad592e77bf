//! A small, strict reader of a zip archive's central directory and local headers, enough to
//! locate the members of a `torch.save` checkpoint. It never inflates anything.
//!
//! Zip parsers disagree on ambiguous archives (a local header naming another file than the
//! central directory, overlapping members, trailing data), and such disagreements have hidden
//! payloads from scanners. This reader refuses them: one central directory found from the end,
//! entry counts and sizes checked against the file and named limits, every member's local header
//! read and checked against its central entry, member ranges disjoint and inside the file.

use crate::artifact::ArtifactError;
use crate::artifact::limits::{MAX_ZIP_CENTRAL_DIRECTORY_BYTES, MAX_ZIP_ENTRIES};
use crate::artifact::read::MeteredFile;
use std::collections::HashSet;

/// One member, located.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    /// 0 stored, 8 deflated, anything else unsupported.
    pub method: u16,
    pub compressed_size: u64,
    pub size: u64,
    /// Absolute offset of the member's first data byte (past its local header).
    pub data_offset: u64,
    pub encrypted: bool,
}

const EOCD: u32 = 0x0605_4b50;
const EOCD64: u32 = 0x0606_4b50;
const EOCD64_LOCATOR: u32 = 0x0706_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

fn le(b: &[u8], at: usize, n: usize) -> u64 {
    b[at..at + n]
        .iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

/// Reads the members of the zip archive `f`, in central directory order (the order torch's
/// reader uses: the first entry names the archive's root directory).
pub fn members(f: &mut MeteredFile) -> Result<Vec<Member>, ArtifactError> {
    let path = f.path().to_owned();
    let len = f.len();
    let bad = |offset: u64, message: String| ArtifactError::Malformed {
        path: path.clone(),
        format: "zip archive",
        offset,
        message,
    };
    if len < 22 {
        return Err(bad(
            0,
            format!("{len} bytes is too short for a zip archive"),
        ));
    }
    // The end record is the last 22 bytes plus a comment of up to 65,535 bytes. torch writes no
    // comment, so read the record and a ZIP64 locator's room first, and the longest tail only
    // if the record is not there.
    let mut tail_len = len.min(22 + 20);
    let (tail_start, tail, eocd) = loop {
        let tail_start = len - tail_len;
        let mut tail = vec![0u8; tail_len as usize];
        f.read_exact_at(tail_start, &mut tail)?;
        let found = (0..=tail.len() - 22).rev().find(|&i| {
            le(&tail, i, 4) == u64::from(EOCD)
                && i + 22 + le(&tail, i + 20, 2) as usize == tail.len()
        });
        match found {
            Some(i) => break (tail_start, tail, i),
            None if tail_len < len.min(22 + 65_535) => tail_len = len.min(22 + 65_535),
            None => {
                return Err(bad(
                    len,
                    "no end of central directory record at the end of the file".into(),
                ));
            }
        }
    };
    let eocd_at = tail_start + eocd as u64;
    let e = &tail[eocd..];
    if le(e, 4, 2) != 0 || le(e, 6, 2) != 0 {
        return Err(bad(eocd_at, "multi-disk archives are not supported".into()));
    }
    let (mut entries, mut cd_size, mut cd_offset) = (le(e, 10, 2), le(e, 12, 4), le(e, 16, 4));
    let mut cd_end_limit = eocd_at;
    if entries == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        // ZIP64: a locator just before the end record points at the 64-bit end record.
        if eocd < 20 || le(&tail, eocd - 20, 4) != u64::from(EOCD64_LOCATOR) {
            return Err(bad(eocd_at, "ZIP64 sizes without a ZIP64 locator".into()));
        }
        let rec_at = le(&tail, eocd - 20 + 8, 8);
        if rec_at.checked_add(56).is_none_or(|end| end > eocd_at - 20) {
            return Err(bad(
                eocd_at - 20,
                format!("ZIP64 end record offset {rec_at} is outside the file"),
            ));
        }
        let mut rec = [0u8; 56];
        f.read_exact_at(rec_at, &mut rec)?;
        if le(&rec, 0, 4) != u64::from(EOCD64) {
            return Err(bad(
                rec_at,
                "expected a ZIP64 end of central directory record".into(),
            ));
        }
        entries = le(&rec, 32, 8);
        cd_size = le(&rec, 40, 8);
        cd_offset = le(&rec, 48, 8);
        cd_end_limit = rec_at;
    }
    if entries > MAX_ZIP_ENTRIES {
        return Err(ArtifactError::LimitExceeded {
            path: path.clone(),
            offset: eocd_at,
            what: "zip entry count".into(),
            value: entries,
            limit: MAX_ZIP_ENTRIES,
        });
    }
    if cd_size > MAX_ZIP_CENTRAL_DIRECTORY_BYTES {
        return Err(ArtifactError::LimitExceeded {
            path: path.clone(),
            offset: eocd_at,
            what: "zip central directory size".into(),
            value: cd_size,
            limit: MAX_ZIP_CENTRAL_DIRECTORY_BYTES,
        });
    }
    if cd_offset
        .checked_add(cd_size)
        .is_none_or(|end| end > cd_end_limit)
    {
        return Err(bad(
            eocd_at,
            format!("central directory [{cd_offset}, +{cd_size}) runs past its end record"),
        ));
    }
    if entries.saturating_mul(46) > cd_size {
        return Err(bad(
            cd_offset,
            format!("{entries} entries cannot fit in a {cd_size}-byte central directory"),
        ));
    }
    // Bounded by MAX_ZIP_CENTRAL_DIRECTORY_BYTES above.
    let mut cd = vec![0u8; cd_size as usize];
    f.read_exact_at(cd_offset, &mut cd)?;

    let mut out: Vec<(u64, Member)> = Vec::new();
    let mut names = HashSet::new();
    let mut at = 0usize;
    for _ in 0..entries {
        let here = cd_offset + at as u64;
        if cd.len() - at < 46 || le(&cd, at, 4) != u64::from(CENTRAL) {
            return Err(bad(here, "expected a central directory entry".into()));
        }
        let flags = le(&cd, at + 8, 2);
        let method = le(&cd, at + 10, 2) as u16;
        let mut compressed_size = le(&cd, at + 20, 4);
        let mut size = le(&cd, at + 24, 4);
        let (n, x, c) = (
            le(&cd, at + 28, 2) as usize,
            le(&cd, at + 30, 2) as usize,
            le(&cd, at + 32, 2) as usize,
        );
        let mut local = le(&cd, at + 42, 4);
        if cd.len() - at - 46 < n + x + c {
            return Err(bad(
                here,
                "central directory entry runs past the directory".into(),
            ));
        }
        let name_bytes = &cd[at + 46..at + 46 + n];
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        // ZIP64 extra field: 64-bit values for whichever 32-bit fields are saturated, in order.
        let mut extra = &cd[at + 46 + n..at + 46 + n + x];
        while extra.len() >= 4 {
            let (id, sz) = (le(extra, 0, 2), le(extra, 2, 2) as usize);
            let body = &extra[4..(4 + sz).min(extra.len())];
            if id == 1 {
                let mut k = 0;
                for field in [&mut size, &mut compressed_size, &mut local] {
                    if *field == 0xffff_ffff {
                        if body.len() < k + 8 {
                            return Err(bad(
                                here,
                                format!("member `{name}`: short ZIP64 extra field"),
                            ));
                        }
                        *field = le(body, k, 8);
                        k += 8;
                    }
                }
            }
            extra = &extra[(4 + sz).min(extra.len())..];
        }
        if !names.insert(name.clone()) {
            return Err(bad(here, format!("duplicate member `{name}`")));
        }
        out.push((
            local,
            Member {
                name,
                method,
                compressed_size,
                size,
                data_offset: 0,
                encrypted: flags & 1 != 0,
            },
        ));
        at += 46 + n + x + c;
    }

    // Local headers: same name as the central entry, data inside the file before the central
    // directory, members disjoint.
    let mut order: Vec<usize> = (0..out.len()).collect();
    order.sort_by_key(|&i| out[i].0);
    let mut prev_end = 0u64;
    for i in order {
        let (here, m) = (out[i].0, &mut out[i].1);
        if here < prev_end {
            return Err(bad(
                here,
                format!("member `{}` overlaps the previous member", m.name),
            ));
        }
        if here.checked_add(30).is_none_or(|e| e > cd_offset) {
            return Err(bad(
                here,
                format!("member `{}`: local header outside the archive data", m.name),
            ));
        }
        let mut h = [0u8; 30];
        f.read_exact_at(here, &mut h)?;
        if le(&h, 0, 4) != u64::from(LOCAL) {
            return Err(bad(
                here,
                format!("member `{}`: expected a local file header", m.name),
            ));
        }
        let (n, x) = (le(&h, 26, 2), le(&h, 28, 2));
        if here + 30 + n > cd_offset {
            return Err(bad(
                here,
                format!("member `{}`: local header outside the archive data", m.name),
            ));
        }
        let mut local_name = vec![0u8; n as usize];
        f.read_exact_at(here + 30, &mut local_name)?;
        if local_name != m.name.as_bytes() {
            return Err(bad(
                here,
                format!(
                    "member `{}`: local header names `{}`",
                    m.name,
                    String::from_utf8_lossy(&local_name)
                ),
            ));
        }
        let data = here + 30 + n + x;
        let end = data.checked_add(m.compressed_size);
        if end.is_none_or(|e| e > cd_offset) {
            return Err(bad(
                here,
                format!(
                    "member `{}`: {} bytes of data run past the archive data",
                    m.name, m.compressed_size
                ),
            ));
        }
        if m.method == 0 && m.size != m.compressed_size {
            return Err(bad(
                here,
                format!("member `{}`: stored, yet its sizes differ", m.name),
            ));
        }
        m.data_offset = data;
        prev_end = end.unwrap_or(u64::MAX);
    }
    Ok(out.into_iter().map(|(_, m)| m).collect())
}

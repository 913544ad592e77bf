//! Numbers for people, the one formatter every command and report uses: counts with short-scale
//! suffixes (`405.9 B` parameters), sizes in decimal units as model hubs report them (`811.7 GB`),
//! and grouped digits (`8,030,261,248`). `audit`'s table and HTML used binary units (KiB, GiB)
//! and one decimal while the other commands used decimal units and four significant digits; a
//! size now reads the same wherever it is shown.

/// `8030261248` → `8.030 B`: four significant digits and a short-scale suffix.
pub fn count(n: u64) -> String {
    scaled(n, &["", " K", " M", " B", " T", " Q"])
}

/// A count held as a float (tokens, operations): [`count`] while it is a whole number of at most
/// 10^18 (`15.60 T`), scientific notation above (`4.04e21`), never a cast that saturates at
/// `u64::MAX` (which printed 4.04e21 tokens as "18446.7 Q").
pub fn count_f64(v: f64) -> String {
    if !v.is_finite() {
        "unbounded".into()
    } else if v.abs() < 1e18 && v >= 0.0 {
        // Below 10^18, so the rounded value fits a u64 exactly enough for four digits.
        count(v.round() as u64)
    } else {
        format!("{v:.2e}")
    }
}

/// `16060522496` → `16.06 GB` (decimal units, as model hubs report sizes).
pub fn bytes(n: u64) -> String {
    if n < 1000 {
        return format!("{n} B");
    }
    scaled(n, &[" B", " KB", " MB", " GB", " TB", " PB", " EB"])
}

fn scaled(n: u64, units: &[&str]) -> String {
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        return format!("{n}{}", units[0]);
    }
    let decimals = if value >= 100.0 {
        1
    } else if value >= 10.0 {
        2
    } else {
        3
    };
    format!("{value:.decimals$}{}", units[unit])
}

/// `8030261248` → `8,030,261,248`.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate for progress lines: `1.234 GB/s`.
pub fn rate(bytes_per_second: f64) -> String {
    if bytes_per_second.is_finite() && bytes_per_second >= 0.0 {
        format!("{}/s", bytes(bytes_per_second.min(u64::MAX as f64) as u64))
    } else {
        "—".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_the_design_says() {
        assert_eq!(count(405_853_388_800), "405.9 B");
        assert_eq!(count(8_030_261_248), "8.030 B");
        assert_eq!(count(999), "999");
        assert_eq!(count(46_702_792_704), "46.70 B");
        assert_eq!(bytes(811_706_777_600), "811.7 GB");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1000), "1.000 KB");
        assert_eq!(grouped(8_030_261_248), "8,030,261,248");
        assert_eq!(grouped(100), "100");
        assert_eq!(grouped(0), "0");
        assert_eq!(count_f64(4.04e21), "4.04e21");
        assert_eq!(count_f64(u64::MAX as f64), "1.84e19");
        assert_eq!(count_f64(15.6e12), "15.60 T");
        assert_eq!(count_f64(f64::INFINITY), "unbounded");
        assert_eq!(rate(1.5e9), "1.500 GB/s");
    }
}

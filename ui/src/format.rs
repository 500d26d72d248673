//! How numbers read in the window: ages ("3 min ago"), sizes (KiB, MiB) and durations (ETA).

pub fn age(then_ms: i64, now_ms: i64) -> String {
    let seconds = (now_ms.saturating_sub(then_ms) / 1000).max(0) as u64;
    match seconds {
        0..=4 => "just now".into(),
        5..=59 => format!("{seconds} s ago"),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} d ago", seconds / 86_400),
    }
}

pub fn bytes(count: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if count < 1024 {
        return format!("{count} B");
    }
    let mut value = count as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

pub fn duration_ms(ms: u64) -> String {
    let seconds = ms.div_ceil(1000);
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        format!("{} min {} s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_sizes_and_durations_read_naturally() {
        assert_eq!(age(0, 2_000), "just now");
        assert_eq!(age(0, 42_000), "42 s ago");
        assert_eq!(age(0, 3 * 60_000), "3 min ago");
        assert_eq!(age(0, 5 * 3_600_000), "5 h ago");
        assert_eq!(age(10_000, 0), "just now");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(duration_ms(1200), "2 s");
        assert_eq!(duration_ms(125_000), "2 min 5 s");
    }
}

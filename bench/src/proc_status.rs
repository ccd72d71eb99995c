//! A process's resident memory, read from `/proc/<pid>/status`.

use std::io;

/// `VmRSS` of process `pid`, in KiB.
///
/// ```
/// let kib = wskit_bench::proc_status::rss_kib(std::process::id()).unwrap();
/// assert!(kib > 0);
/// ```
pub fn rss_kib(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_vm_rss(&text).ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmRSS line"))
}

/// The `VmRSS` value (KiB) in the text of a `/proc/<pid>/status` file.
///
/// ```
/// assert_eq!(wskit_bench::proc_status::parse_vm_rss("Name:\tx\nVmRSS:\t  1234 kB\n"), Some(1234));
/// ```
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let mut words = line.split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") | None => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_found_among_other_lines() {
        let s = "Name:\tbun\nVmPeak:\t  99999 kB\nVmRSS:\t   51200 kB\nRssAnon:\t 40000 kB\n";
        assert_eq!(parse_vm_rss(s), Some(51200));
    }

    #[test]
    fn missing_or_malformed_vm_rss_is_none() {
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\tmany kB\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\t12 MB\n"), None);
    }

    #[test]
    fn own_rss_is_readable() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }
}

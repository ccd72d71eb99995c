//! A process's resident memory, read from `/proc/<pid>/status`.

use std::io;
use std::time::Duration;

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

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SEC: u64 = 100;

/// CPU time (user + system) process `pid` has used so far.
///
/// ```
/// let t = wskit_bench::proc_status::cpu_time(std::process::id()).unwrap();
/// assert!(t < std::time::Duration::from_secs(3600));
/// ```
pub fn cpu_time(pid: u32) -> io::Result<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_cpu_ticks(&text)
        .map(|ticks| Duration::from_millis(ticks * 1000 / TICKS_PER_SEC))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "malformed stat"))
}

/// utime + stime (clock ticks) in the text of a `/proc/<pid>/stat` file.
///
/// ```
/// let stat = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
/// assert_eq!(wskit_bench::proc_status::parse_cpu_ticks(stat), Some(300));
/// ```
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name may contain spaces and parentheses: fields resume after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    // After ')' come state (field 3) ... utime is field 14 and stime field 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// How many times process `pid`'s main thread was preempted (`nonvoluntary_ctxt_switches` in
/// `/proc/<pid>/status`): other work taking its core.
///
/// ```
/// let n = wskit_bench::proc_status::preemptions(std::process::id()).unwrap();
/// assert!(n < u64::MAX);
/// ```
pub fn preemptions(pid: u32) -> io::Result<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    parse_status_number(&text, "nonvoluntary_ctxt_switches:")
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no nonvoluntary_ctxt_switches"))
}

/// The first number after `key` at the start of a line of a `/proc/<pid>/status` file.
///
/// ```
/// let s = "voluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t3\n";
/// assert_eq!(wskit_bench::proc_status::parse_status_number(s, "nonvoluntary_ctxt_switches:"), Some(3));
/// ```
pub fn parse_status_number(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix(key))?;
    line.split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_numbers_are_found_by_whole_key() {
        let s = "voluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(parse_status_number(s, "voluntary_ctxt_switches:"), Some(10));
        assert_eq!(
            parse_status_number(s, "nonvoluntary_ctxt_switches:"),
            Some(3)
        );
        assert_eq!(parse_status_number(s, "Threads:"), None);
    }

    #[test]
    fn cpu_ticks_skip_a_name_with_spaces_and_parens() {
        let stat = "7 (a b) c)) R 1 7 7 0 -1 0 0 0 0 0 12 3 0 0 20 0 1 0 99";
        assert_eq!(parse_cpu_ticks(stat), Some(15));
        assert_eq!(parse_cpu_ticks("7 (x) R 1"), None);
        assert_eq!(parse_cpu_ticks("no parens"), None);
    }

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

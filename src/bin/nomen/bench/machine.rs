//! What machine `nomen bench` runs on: board, CPU cores, the instruction-set features that
//! decide which tract kernels run, memory, OS and C library. Read from /proc and the
//! standard library's feature detection; everything is optional (printed as "?").

use std::fmt::Write as _;

/// The machine, as far as it can be read.
pub struct Machine {
    /// Board or CPU model name (device tree model on ARM boards, `model name` on x86).
    pub board: Option<String>,
    /// CPU cores by name, e.g. "Cortex-A72 x4" or "Cortex-A55 x4 + Cortex-A76 x4" (on
    /// x86, or when /proc/cpuinfo has no part numbers: "4 cores").
    pub cores: String,
    /// Features that matter for tract's kernels, with whether they are present.
    pub features: Vec<(&'static str, bool)>,
    /// The raw /proc/cpuinfo flags among those (aarch64: asimd, asimddp, fphp, asimdhp,
    /// i8mm, sve), to check the detection against.
    pub cpuinfo_flags: Vec<String>,
    /// tract's view: the instruction-set features its kernel dispatch uses.
    pub tract_isa: String,
    /// The same, with (aarch64) the core tract tunes its kernels for.
    pub tract: String,
    pub mem_total_mib: Option<f64>,
    pub os: Option<String>,
    pub kernel: Option<String>,
    pub libc: Option<String>,
    /// /proc/cpuinfo describes another architecture: this is an emulator (qemu user mode),
    /// and its timings say nothing about any real board.
    pub emulated: bool,
}

impl Machine {
    /// Reads it.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let field = |name: &str| -> Vec<String> {
            cpuinfo
                .lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(k, _)| k.trim() == name)
                .map(|(_, v)| v.trim().to_string())
                .collect()
        };
        let arch = std::env::consts::ARCH;
        let emulated = arch == "aarch64"
            && (!field("vendor_id").is_empty() || !field("flags").is_empty())
            && field("CPU part").is_empty();
        let board = read_trimmed("/proc/device-tree/model")
            .or_else(|| read_trimmed("/sys/firmware/devicetree/base/model"))
            .or_else(|| field("Model").into_iter().next())
            .or_else(|| field("model name").into_iter().next())
            .or_else(|| field("Hardware").into_iter().next());
        let board = if emulated {
            Some(format!(
                "emulated aarch64 (host: {})",
                board.as_deref().unwrap_or("?")
            ))
        } else {
            board
        };
        let n = std::thread::available_parallelism().map_or(0, |n| n.get());
        let parts = field("CPU part");
        let cores = if parts.is_empty() || emulated {
            format!("{n} cores")
        } else {
            // Keep the order of first appearance (LITTLE cores first on most SoCs).
            let mut seen: Vec<(String, usize)> = Vec::new();
            for p in &parts {
                match seen.iter_mut().find(|(q, _)| q == p) {
                    Some((_, c)) => *c += 1,
                    None => seen.push((p.clone(), 1)),
                }
            }
            seen.iter()
                .map(|(p, c)| format!("{} x{c}", arm_core_name(p)))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let raw: Vec<String> = field("Features")
            .into_iter()
            .chain(field("flags"))
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let wanted: &[&str] = if arch == "aarch64" {
            &["asimd", "asimddp", "fphp", "asimdhp", "i8mm", "sve"]
        } else {
            &["avx2", "fma", "avx512f", "avx512_vnni"]
        };
        let cpuinfo_flags = if emulated {
            Vec::new()
        } else {
            wanted
                .iter()
                .filter(|w| raw.iter().any(|r| r == *w))
                .map(|w| w.to_string())
                .collect()
        };
        Machine {
            board,
            cores,
            features: features(),
            cpuinfo_flags,
            tract_isa: format!("{:?}", tract_onnx::prelude::tract_linalg::isa::native()),
            tract: tract_view(),
            mem_total_mib: std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
                let l = s.lines().find(|l| l.starts_with("MemTotal:"))?;
                let kb: f64 = l.split_whitespace().nth(1)?.parse().ok()?;
                Some(kb / 1024.0)
            }),
            os: std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|s| {
                    let l = s.lines().find(|l| l.starts_with("PRETTY_NAME="))?;
                    Some(l["PRETTY_NAME=".len()..].trim_matches('"').to_string())
                }),
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            libc: libc_version(),
            emulated,
        }
    }

    /// "neon dotprod -fp16 -i8mm -sve": present features, absent ones with a minus.
    pub fn feature_list(&self) -> String {
        self.features
            .iter()
            .map(|(f, on)| if *on { f.to_string() } else { format!("-{f}") })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The lines `nomen bench` prints.
    pub fn report(&self) -> String {
        let q = |o: &Option<String>| o.clone().unwrap_or_else(|| "?".into());
        let mut s = String::new();
        let _ = writeln!(s, "machine: {}", q(&self.board));
        let _ = writeln!(
            s,
            "cpu: {}, {}, features: {}{}",
            std::env::consts::ARCH,
            self.cores,
            self.feature_list(),
            if self.cpuinfo_flags.is_empty() {
                String::new()
            } else {
                format!(" (/proc/cpuinfo: {})", self.cpuinfo_flags.join(" "))
            }
        );
        let _ = writeln!(s, "tract kernels: {}", self.tract);
        let _ = writeln!(
            s,
            "memory: {}, os: {}, kernel {}, {}",
            self.mem_total_mib
                .map_or("?".into(), |m| format!("{:.0} MiB", m)),
            q(&self.os),
            q(&self.kernel),
            q(&self.libc)
        );
        let _ = writeln!(
            s,
            "build: nomen {} ({}{})",
            env!("CARGO_PKG_VERSION"),
            if cfg!(debug_assertions) {
                "DEBUG build: timings are meaningless, build with --release"
            } else {
                "optimized build"
            },
            if cfg!(feature = "mic") {
                ", mic"
            } else {
                ", no mic"
            }
        );
        if self.emulated {
            let _ = writeln!(
                s,
                "WARNING: running under an emulator (/proc/cpuinfo is the host's): timings below \
                 say nothing about any real board"
            );
        }
        s
    }
}

fn read_trimmed(path: &str) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

/// Arm's part numbers (/proc/cpuinfo `CPU part`) of the cores found on boards and phones.
fn arm_core_name(part: &str) -> String {
    let name = match part {
        "0xd03" => "Cortex-A53",
        "0xd04" => "Cortex-A35",
        "0xd05" => "Cortex-A55",
        "0xd07" => "Cortex-A57",
        "0xd08" => "Cortex-A72",
        "0xd09" => "Cortex-A73",
        "0xd0a" => "Cortex-A75",
        "0xd0b" => "Cortex-A76",
        "0xd0c" => "Neoverse-N1",
        "0xd0d" => "Cortex-A77",
        "0xd40" => "Neoverse-V1",
        "0xd41" => "Cortex-A78",
        "0xd44" => "Cortex-X1",
        "0xd46" => "Cortex-A510",
        "0xd47" => "Cortex-A710",
        "0xd48" => "Cortex-X2",
        "0xd49" => "Neoverse-N2",
        "0xd4d" => "Cortex-A715",
        "0xd4e" => "Cortex-X3",
        "0xd80" => "Cortex-A520",
        "0xd81" => "Cortex-A720",
        _ => return format!("part {part}"),
    };
    name.to_string()
}

/// Features as the standard library detects them (the kernel's HWCAP on Linux, which qemu
/// emulates for its CPU model). On aarch64: NEON (asimd), dot product (asimddp: tract's
/// int8 SDOT kernels), half precision arithmetic (fphp/asimdhp), int8 matrix multiply
/// (i8mm), SVE.
#[allow(clippy::vec_init_then_push)]
fn features() -> Vec<(&'static str, bool)> {
    #[allow(unused_mut)]
    let mut f: Vec<(&'static str, bool)> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        f.push(("avx2", std::arch::is_x86_feature_detected!("avx2")));
        f.push(("fma", std::arch::is_x86_feature_detected!("fma")));
        f.push(("avx512f", std::arch::is_x86_feature_detected!("avx512f")));
    }
    #[cfg(target_arch = "aarch64")]
    {
        f.push(("neon", std::arch::is_aarch64_feature_detected!("neon")));
        f.push((
            "dotprod",
            std::arch::is_aarch64_feature_detected!("dotprod"),
        ));
        f.push(("fp16", std::arch::is_aarch64_feature_detected!("fp16")));
        f.push(("i8mm", std::arch::is_aarch64_feature_detected!("i8mm")));
        f.push(("sve", std::arch::is_aarch64_feature_detected!("sve")));
    }
    f
}

/// tract's own probe: the instruction-set features its kernel dispatch uses and, on
/// aarch64, the core it tunes for (from /proc/cpuinfo `CPU part`; "Generic" when unknown).
fn tract_view() -> String {
    use tract_onnx::prelude::tract_linalg::isa;
    let set = isa::native();
    #[allow(unused_mut)]
    let mut s = format!("{set:?}");
    #[cfg(target_arch = "aarch64")]
    {
        let kind = tract_onnx::prelude::tract_linalg::arm64::Kind::choose();
        s.push_str(&format!(", tuned for {kind:?}"));
    }
    s
}

/// The C library's version ("glibc 2.36").
fn libc_version() -> Option<String> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn gnu_get_libc_version() -> *const std::ffi::c_char;
        }
        // SAFETY: glibc returns a pointer to a static NUL-terminated string.
        let v = unsafe { std::ffi::CStr::from_ptr(gnu_get_libc_version()) };
        Some(format!("glibc {}", v.to_string_lossy()))
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_never_fails_and_names_known_cores() {
        let m = Machine::detect();
        assert!(m.report().contains("cpu: "));
        assert!(!m.cores.is_empty());
        assert_eq!(arm_core_name("0xd08"), "Cortex-A72");
        assert_eq!(arm_core_name("0xd0b"), "Cortex-A76");
        assert_eq!(arm_core_name("0xfff"), "part 0xfff");
    }
}

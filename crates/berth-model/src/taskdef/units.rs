//! Task-level `cpu` and `memory`: parsing the forms ECS accepts and the Fargate size table.
//!
//! ECS takes `cpu` as CPU units ("1024") or vCPUs ("1 vCPU", "0.25 vcpu") and `memory` as MiB ("2048") or GB
//! ("2GB", "2 GB"), and stores both as integer strings. GB here means GiB (1 GB = 1024 MiB), as ECS documents.
//! We also take "MiB"/"MB" and "GiB" suffixes, which ECS's own console writes in places.

use crate::ModelError;

/// CPU units in one vCPU.
pub const UNITS_PER_VCPU: u64 = 1024;
/// MiB in one GB, in ECS's sense of GB.
pub const MIB_PER_GB: u64 = 1024;

/// The memory sizes (MiB) Fargate offers for a task cpu size (units), from the ECS developer guide's task size
/// table; `None` when Fargate has no such cpu size.
pub fn fargate_memory_options(cpu: u64) -> Option<Vec<u64>> {
    let stepped = |from: u64, to: u64, step: u64| (from..=to).step_by(step as usize).collect::<Vec<_>>();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => stepped(1024, 4096, 1024),
        1024 => stepped(2048, 8192, 1024),
        2048 => stepped(4096, 16384, 1024),
        4096 => stepped(8192, 30720, 1024),
        8192 => stepped(16384, 61440, 4096),
        16384 => stepped(32768, 122880, 8192),
        _ => return None,
    })
}

/// Whether Fargate offers a task of this cpu (units) and memory (MiB).
pub fn is_fargate_size(cpu: u64, memory: u64) -> bool {
    fargate_memory_options(cpu).is_some_and(|options| options.contains(&memory))
}

/// Parses a task `cpu` setting into CPU units.
pub fn parse_cpu(text: &str) -> Result<u64, ModelError> {
    let lower = text.trim().to_ascii_lowercase();
    let units = match lower.strip_suffix("vcpu") {
        Some(number) => scaled(number.trim_end(), UNITS_PER_VCPU),
        None => scaled(&lower, 1).filter(|_| !lower.contains('.')),
    };
    units.filter(|&n| n > 0).ok_or_else(|| {
        ModelError::client(format!(
            "Invalid 'cpu' setting for task. '{}' is neither a whole number of CPU units (e.g. 1024) nor a number of \
             vCPUs (e.g. 1 vCPU).",
            super::shown(text)
        ))
    })
}

/// Parses a task `memory` setting into MiB.
pub fn parse_memory(text: &str) -> Result<u64, ModelError> {
    let lower = text.trim().to_ascii_lowercase();
    let suffixes: [(&str, u64); 4] = [("gib", MIB_PER_GB), ("gb", MIB_PER_GB), ("mib", 1), ("mb", 1)];
    let mib = match suffixes.iter().find_map(|(suffix, scale)| lower.strip_suffix(suffix).map(|n| (n, *scale))) {
        Some((number, scale)) => scaled(number.trim_end(), scale),
        None => scaled(&lower, 1).filter(|_| !lower.contains('.')),
    };
    mib.filter(|&n| n > 0).ok_or_else(|| {
        ModelError::client(format!(
            "Invalid 'memory' setting for task. '{}' is neither a whole number of MiB (e.g. 2048) nor a size in GB \
             (e.g. 2GB).",
            super::shown(text)
        ))
    })
}

/// `number * scale` for a plain decimal number ("2", "0.25", ".5"), when the result is a whole number that fits
/// an `i32` (the type ECS uses for sizes everywhere else). Exact: no floating point, so "0.1 vCPU" is refused
/// rather than rounded to 102.
fn scaled(number: &str, scale: u64) -> Option<u64> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    // Length caps keep the arithmetic below far from overflow; anything longer is out of range anyway.
    if whole.is_empty() && fraction.is_empty()
        || !all_digits(whole)
        || !all_digits(fraction)
        || whole.len() > 12
        || fraction.len() > 9
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let (numerator, denominator) =
        if fraction.is_empty() { (0, 1) } else { (fraction.parse::<u64>().ok()?, 10u64.pow(fraction.len() as u32)) };
    let fraction_scaled = numerator.checked_mul(scale)?;
    if fraction_scaled % denominator != 0 {
        return None;
    }
    let value = whole.checked_mul(scale)?.checked_add(fraction_scaled / denominator)?;
    (value <= i32::MAX as u64).then_some(value)
}

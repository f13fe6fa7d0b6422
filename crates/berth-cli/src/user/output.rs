//! How the user commands print: aligned tables and colours for a person at a terminal, plain lines when the output
//! is piped, and JSON for scripts. Colours appear only when stdout is a terminal and `NO_COLOR` is not set.

use std::io::IsTerminal;

use clap::ValueEnum;

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Json,
}

/// Whether stdout is a terminal, and so whether to colour and redraw.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub terminal: bool,
    pub colour: bool,
}

impl Style {
    /// The style for stdout as it is now.
    pub fn detect() -> Style {
        let terminal = std::io::stdout().is_terminal();
        Style { terminal, colour: terminal && std::env::var_os("NO_COLOR").is_none() }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_owned() }
    }

    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    /// A status word coloured by what it means: good green, bad red, in-between yellow.
    pub fn status(&self, text: &str) -> String {
        match text {
            "RUNNING" | "HEALTHY" | "COMPLETED" | "ACTIVE" | "PRIMARY" => self.green(text),
            "STOPPED" | "UNHEALTHY" | "FAILED" | "INACTIVE" => self.red(text),
            "" | "-" | "UNKNOWN" => text.to_owned(),
            _ => self.yellow(text),
        }
    }
}

/// Length of `text` as shown, without colour codes.
pub fn visible_len(text: &str) -> usize {
    let mut len = 0;
    let mut escape = false;
    for c in text.chars() {
        match (escape, c) {
            (false, '\x1b') => escape = true,
            (true, 'm') => escape = false,
            (true, _) => {}
            (false, _) => len += 1,
        }
    }
    len
}

/// Columns of the terminal on stdout: `COLUMNS`, else what `stty size` says about the controlling terminal, else 80.
pub fn terminal_width() -> usize {
    if let Some(n) = std::env::var("COLUMNS").ok().and_then(|c| c.trim().parse::<usize>().ok()).filter(|n| *n > 0) {
        return n;
    }
    let size = std::fs::File::open("/dev/tty").ok().and_then(|tty| {
        let out =
            std::process::Command::new("stty").arg("size").stdin(tty).stderr(std::process::Stdio::null()).output();
        let text = String::from_utf8(out.ok()?.stdout).ok()?;
        text.split_whitespace().nth(1)?.parse::<usize>().ok()
    });
    size.filter(|n| *n > 0).unwrap_or(80)
}

/// Rows `lines` take on a terminal `width` columns wide (long lines wrap).
pub fn screen_rows(lines: &[String], width: usize) -> usize {
    lines.iter().map(|l| visible_len(l).max(1).div_ceil(width.max(1))).sum()
}

/// Renders rows under a header, columns padded to their widest cell (cells may carry colour codes).
pub fn table(header: &[&str], rows: &[Vec<String>], style: &Style) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(visible_len(cell));
            }
        }
    }
    let line = |cells: Vec<String>| {
        let mut out = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            out.push_str(cell);
            if i < last {
                let pad = widths.get(i).copied().unwrap_or(0).saturating_sub(visible_len(cell)) + 2;
                out.push_str(&" ".repeat(pad));
            }
        }
        out.trim_end().to_owned()
    };
    let mut out = line(header.iter().map(|h| style.bold(h)).collect());
    out.push('\n');
    for row in rows {
        out.push_str(&line(row.clone()));
        out.push('\n');
    }
    out
}

/// An age such as `45s`, `12m`, `3h`, `2d`.
pub fn age(seconds: f64) -> String {
    let s = seconds.max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A percentage with one decimal, or blank when unknown.
pub fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}%")).unwrap_or_default()
}

/// Prints a JSON value on one line.
pub fn print_json(value: &serde_json::Value) {
    println!("{value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_past_colour_codes() {
        let style = Style { terminal: true, colour: true };
        let rows = vec![vec![style.green("RUNNING"), "a".into()], vec!["X".into(), "b".into()]];
        let text = table(&["STATUS", "N"], &rows, &Style { terminal: false, colour: false });
        assert_eq!(text, "STATUS   N\n\x1b[32mRUNNING\x1b[0m  a\nX        b\n");
    }

    #[test]
    fn ages() {
        assert_eq!(age(5.0), "5s");
        assert_eq!(age(600.0), "10m");
        assert_eq!(age(7300.0), "2h");
        assert_eq!(age(200_000.0), "2d");
    }
}

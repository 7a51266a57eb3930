//! What the terminal is: whether stdout and stderr are terminals, whether colours are wanted
//! (`NO_COLOR`), and the ANSI styling of human text ([`Style`]). Bars and spinners are in
//! [`super::progress`].

use std::io::IsTerminal;

/// Whether `NO_COLOR` asks for no colours: set and not empty (<https://no-color.org>).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether stderr is a terminal: bars are drawn only there.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// ANSI styling, on only when wanted.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Colors when `out` is a terminal and `NO_COLOR` is unset or empty.
    pub fn detect(is_terminal: bool) -> Style {
        Style {
            color: is_terminal && !no_color(),
        }
    }

    /// The styling of text written on stdout.
    pub fn stdout() -> Style {
        Style::detect(std::io::stdout().is_terminal())
    }

    /// No colors.
    #[cfg(test)]
    pub fn plain() -> Style {
        Style { color: false }
    }

    /// Colors, whatever the terminal.
    #[cfg(test)]
    pub fn ansi() -> Style {
        Style { color: true }
    }

    /// `text` in the ANSI style `code` (e.g. "31;1"), or plain.
    pub fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_wraps_text_in_one_sequence_and_a_reset() {
        assert_eq!(Style::ansi().paint("31;1", "FAIL"), "\x1b[31;1mFAIL\x1b[0m");
        assert_eq!(Style::plain().paint("31;1", "FAIL"), "FAIL");
        assert_eq!(Style::detect(false).paint("32", "ok"), "ok");
    }
}

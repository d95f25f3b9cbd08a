//! A real pseudo-terminal for tests of what a person sees: the command runs
//! with stdin, stdout and stderr on the terminal's slave side (so
//! `is_terminal()` is true and progress bars draw), and everything it writes
//! is replayed through a terminal emulator (vt100) to get the screen back.

use std::io::Read as _;
use std::os::fd::OwnedFd;
use std::process::{Command, ExitStatus, Stdio};

use anyhow::{Context as _, Result};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

/// What a command left on a terminal.
#[derive(Debug)]
pub struct TerminalRun {
    pub status: ExitStatus,
    /// Every byte written to the terminal, escape sequences included.
    pub bytes: Vec<u8>,
    /// The screen after replaying `bytes`, one string per row, trailing
    /// blank rows removed.
    pub screen: Vec<String>,
}

/// Runs `command` on a new pseudo-terminal `cols` wide. The emulated screen
/// is `rows` high; make it taller than the output so nothing scrolls away.
pub fn run_in_terminal(mut command: Command, rows: u16, cols: u16) -> Result<TerminalRun> {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).context("openpt")?;
    grantpt(&master).context("grantpt")?;
    unlockpt(&master).context("unlockpt")?;
    let name = ptsname(&master, Vec::new()).context("ptsname")?;
    let size = Winsize {
        ws_row: 24,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(&master, size).context("setting the terminal size")?;
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().context("the terminal's name is UTF-8")?)
        .context("opening the terminal's slave side")?;
    let mut child = command
        .stdin(Stdio::from(slave.try_clone()?))
        .stdout(Stdio::from(slave.try_clone()?))
        .stderr(Stdio::from(slave))
        .spawn()
        .context("starting the command on the terminal")?;
    // `command` keeps its copies of the slave side until dropped; after that
    // the child holds the only ones, and once it exits the master reads EIO,
    // which is the end of the output.
    drop(command);
    let reader = std::thread::spawn(move || read_all(master));
    let status = child.wait().context("waiting for the command")?;
    // A grandchild that kept the terminal open would block the reader: the
    // command's own exit is what the tests wait for.
    let bytes = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the terminal reader panicked"))?;
    let screen = replay(&bytes, rows, cols);
    Ok(TerminalRun { status, bytes, screen })
}

fn read_all(master: OwnedFd) -> Vec<u8> {
    let mut file = std::fs::File::from(master);
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match file.read(&mut chunk) {
            Ok(0) | Err(_) => return bytes,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The screen a terminal emulator shows after `bytes`.
pub fn replay(bytes: &[u8], rows: u16, cols: u16) -> Vec<String> {
    let mut parser = vt100::Parser::new(rows, cols, 0);
    parser.process(bytes);
    let mut screen: Vec<String> = parser.screen().rows(0, cols).collect();
    while screen.last().is_some_and(|row| row.trim().is_empty()) {
        screen.pop();
    }
    screen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_on_the_terminal_sees_a_terminal_and_its_output_is_replayed() {
        let mut command = Command::new("sh");
        command.args(["-c", "test -t 2 && printf 'one\\rtwo\\nthree\\n' >&2"]);
        let run = run_in_terminal(command, 10, 40).unwrap();
        assert!(run.status.success(), "stderr is a terminal");
        assert_eq!(run.screen, ["two", "three"]);
    }
}

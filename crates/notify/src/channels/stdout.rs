//! Local sinks: `stdout://` prints the message (for local runs and
//! `cargo xtask demo`), `file://PATH` appends the webhook JSON as one line.

use std::io::Write;
use std::path::Path;

use shipgate_core::exit::{Error, Result};

use super::{Context, Delivered, webhook};
use crate::event::Event;
use crate::message::Message;

pub fn text(message: &Message) -> String {
    format!("{}\n", message.plain_text())
}

pub fn send_stdout(context: &Context, message: &Message) -> Result<Delivered> {
    let text = text(message);
    if context.json {
        // stdout carries the one JSON document; the text goes inside it.
        return Ok(Delivered {
            detail: "printed".into(),
            output: Some(text),
            ..Delivered::default()
        });
    }
    let mut out = std::io::stdout().lock();
    out.write_all(shipgate_core::actions::redact(&text).as_bytes())
        .and_then(|()| out.flush())
        .map_err(|err| Error::external_with("writing to stdout", err))?;
    Ok(Delivered::detail("printed"))
}

pub fn send_file(path: &Path, event: &Event, message: &Message) -> Result<Delivered> {
    let mut line = serde_json::to_string(&webhook::payload(event, message))
        .map_err(|err| Error::usage_with("cannot encode payload", err))?;
    line.push('\n');
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|err| Error::usage_with(format!("cannot open {}", path.display()), err))?;
    // One write call per line keeps concurrent appenders from interleaving.
    file.write_all(line.as_bytes())
        .map_err(|err| Error::external_with(format!("cannot append to {}", path.display()), err))?;
    Ok(Delivered::detail(format!("appended to {}", path.display())))
}

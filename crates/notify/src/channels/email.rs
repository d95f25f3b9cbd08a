//! Email over SMTP with lettre (rustls, never OpenSSL): STARTTLS or implicit
//! TLS, optional AUTH, one multipart/alternative message with a plain-text
//! and an HTML part.

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use shipgate_core::actions::redact;
use shipgate_core::exit::{Error, Result};
use shipgate_core::retry::{GaveUp, Verdict};

use super::{Context, Delivered, Request};
use crate::message::Message;
use crate::target::{EmailTarget, SmtpSecurity};

pub fn preview(email: &EmailTarget, message: &Message) -> Request {
    Request {
        method: "SMTP".into(),
        url: format!("smtp://{}:{}", email.host, email.port),
        body: json!({
            "from": email.from,
            "to": email.to,
            "subject": message.title,
            "text": message.plain_text(),
            "html": html(message),
        }),
    }
}

/// The HTML part; every piece of text is escaped.
pub fn html(message: &Message) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = format!(
        "<!DOCTYPE html><html><body><h2 style=\"border-left:6px solid {};padding-left:8px\">{}</h2>",
        message.tone.hex(),
        escape(&message.title)
    );
    for paragraph in message.text.split("\n\n") {
        out.push_str(&format!("<p>{}</p>", escape(paragraph).replace('\n', "<br>")));
    }
    if !message.fields.is_empty() {
        out.push_str("<table>");
        for field in &message.fields {
            out.push_str(&format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>",
                escape(&field.name),
                escape(&field.value)
            ));
        }
        out.push_str("</table>");
    }
    for link in &message.links {
        out.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>",
            escape(&link.url),
            escape(&link.text)
        ));
    }
    out.push_str("</body></html>");
    out
}

fn build_message(email: &EmailTarget, message: &Message) -> Result<lettre::Message> {
    let mailbox = |address: &str| {
        address
            .parse::<Mailbox>()
            .map_err(|err| Error::usage_with(format!("`{address}` is not an email address"), err))
    };
    let mut builder = lettre::Message::builder()
        .from(mailbox(&email.from)?)
        .subject(message.title.clone());
    for to in &email.to {
        builder = builder.to(mailbox(to)?);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(message.plain_text(), html(message)))
        .map_err(|err| Error::usage_with("cannot build the email", err))
}

fn transport(email: &EmailTarget, context: &Context) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    shipgate_core::http::install_crypto_provider();
    let tls_parameters = || -> Result<TlsParameters> {
        let mut builder = TlsParameters::builder(email.host.clone());
        if let Some(path) = &email.ca_file {
            let pem = std::fs::read(path)
                .map_err(|err| Error::usage_with(format!("cannot read the CA file {}", path.display()), err))?;
            let certificate = Certificate::from_pem(&pem)
                .map_err(|err| Error::usage_with(format!("{} is not a PEM certificate", path.display()), err))?;
            builder = builder.add_root_certificate(certificate);
        }
        builder
            .build_rustls()
            .map_err(|err| Error::usage_with(format!("cannot set up TLS for {}", email.host), err))
    };
    let tls = match email.security {
        SmtpSecurity::StartTls => Tls::Required(tls_parameters()?),
        SmtpSecurity::Implicit => Tls::Wrapper(tls_parameters()?),
        SmtpSecurity::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(email.host.clone())
        .port(email.port)
        .tls(tls)
        .timeout(Some(context.smtp_timeout));
    if let Some(user) = &email.username {
        let password = email
            .password
            .as_ref()
            .map(|p| p.expose().to_string())
            .unwrap_or_default();
        builder = builder.credentials(Credentials::new(user.clone(), password));
    }
    Ok(builder.build())
}

pub async fn send(context: &Context, email: &EmailTarget, message: &Message) -> Result<Delivered> {
    let mail = build_message(email, message)?;
    let transport = transport(email, context)?;
    // A 5xx reply (bad recipient, auth refused), a TLS failure or a server
    // that does not offer STARTTLS will not change on retry.
    let permanent = |err: &lettre::transport::smtp::Error| {
        err.is_permanent() || err.is_tls() || err.is_client() || is_certificate_error(err)
    };
    let verdict =
        |last: &std::result::Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error>| {
            match last {
                Err(err) if !permanent(err) => Verdict::Transient { wait: None },
                _ => Verdict::Final,
            }
        };
    match context.retry.run(|| transport.send(mail.clone()), verdict).await {
        Ok(Ok(response)) => {
            let detail = response.message().collect::<Vec<_>>().join(" ");
            Ok(Delivered::detail(format!(
                "sent to {} ({})",
                email.to.join(", "),
                redact(&detail)
            )))
        }
        Ok(Err(err)) => Err(Error::check(format!(
            "SMTP {}:{}: {}",
            email.host,
            email.port,
            redact(&error_chain(&err))
        ))),
        Err(GaveUp { last, attempts, .. }) => {
            let failure = last.err().map(|err| error_chain(&err)).unwrap_or_default();
            Err(Error::external(format!(
                "SMTP {}:{}: {} after {attempts} attempts",
                email.host,
                email.port,
                redact(&failure)
            )))
        }
    }
}

/// An untrusted or mismatched certificate arrives as a connection error;
/// retrying cannot fix it.
fn is_certificate_error(err: &lettre::transport::smtp::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        // io::Error hides what it wraps from `source()`; look inside.
        let wrapped = cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
        if wrapped || cause.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        source = cause.source();
    }
    false
}

/// lettre's message plus its causes ("Connection error: Connection refused").
fn error_chain(err: &lettre::transport::smtp::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(&format!(": {cause_text}"));
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Tone;

    #[test]
    fn html_escapes_everything() {
        let message = Message {
            title: "<script>".into(),
            text: "a & b\n\n\"c\"".into(),
            fields: vec![],
            links: vec![],
            tone: Tone::Good,
        };
        let html = html(&message);
        assert!(html.contains("<h2 style=\"border-left:6px solid #2eb886;padding-left:8px\">&lt;script&gt;</h2>"));
        assert!(html.contains("<p>a &amp; b</p><p>&quot;c&quot;</p>"));
        assert!(!html.contains("<script>"));
    }
}

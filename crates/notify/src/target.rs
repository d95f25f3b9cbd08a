//! Where notifications go: apprise-style target URLs and the named channels
//! of `shipgate.toml`, parsed and validated before anything is sent.
//!
//! Every secret a target carries (webhook path, routing key, token,
//! password) is registered for redaction while parsing, so no later message
//! can print it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use reqwest::Url;
use shipgate_core::actions::{Secret, register_secret};
use shipgate_core::config::{ChannelKind, NotifyChannel, NotifyConfig};
use shipgate_core::exit::{Error, Result};
use shipgate_core::url_redaction;

/// One place to deliver to, ready to use.
#[derive(Debug, Clone)]
pub struct Target {
    /// The config name, or the URL with its secrets hidden.
    pub name: String,
    pub kind: ChannelKind,
    pub endpoint: Endpoint,
    /// A failure here is reported but does not fail the run.
    pub optional: bool,
}

/// The address and credentials of one target.
#[derive(Debug, Clone)]
pub enum Endpoint {
    SlackWebhook {
        url: Secret,
    },
    /// `chat.postMessage` / `chat.update` under `api` (e.g. `https://slack.com/api`).
    SlackBot {
        api: String,
        token: Secret,
        channel: String,
    },
    Discord {
        url: Secret,
    },
    Teams {
        url: Secret,
    },
    PagerDuty {
        url: String,
        routing_key: Secret,
    },
    /// `page` is the page's API URL, e.g. `https://api.statuspage.io/v1/pages/PAGE_ID`.
    Statuspage {
        page: String,
        api_key: Secret,
    },
    Webhook {
        url: Secret,
        hmac_secret: Option<Secret>,
    },
    Email(EmailTarget),
    GitHub(GitHubMode),
    Stdout,
    File {
        path: PathBuf,
    },
}

/// What the `github://` target does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitHubMode {
    /// A deployment and its status.
    Deployment,
    /// A pull request comment, or a commit comment outside pull requests.
    Comment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain SMTP upgraded with STARTTLS (required).
    StartTls,
    /// TLS from the first byte (SMTPS).
    Implicit,
    /// No TLS at all; only for local test servers.
    None,
}

#[derive(Debug, Clone)]
pub struct EmailTarget {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub from: String,
    pub to: Vec<String>,
    /// An extra root certificate (PEM) to trust, e.g. a company CA.
    pub ca_file: Option<PathBuf>,
}

/// Reads environment variables; injected so tests never touch the process env.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Every target of a run: `--to` URLs, `--target` names and routed names.
#[derive(Debug, Default)]
pub struct Selection {
    pub targets: Vec<Target>,
    /// Routed channel names no `[[notify.channels]]` entry defines.
    pub unconfigured: Vec<String>,
}

/// Resolves `--to` URLs and channel names against the configuration.
pub fn select(
    urls: &[String],
    names: &[String],
    routed: &[String],
    config: &NotifyConfig,
    env: EnvLookup<'_>,
) -> Result<Selection> {
    let mut selection = Selection::default();
    for raw in urls.iter().flat_map(|value| value.lines()).map(str::trim) {
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }
        selection.targets.push(parse(raw, None, None)?);
    }
    let channels: BTreeMap<&str, &NotifyChannel> = config.channels.iter().map(|c| (c.name.as_str(), c)).collect();
    for name in names {
        let channel = channels.get(name.as_str()).ok_or_else(|| {
            let known: Vec<&str> = channels.keys().copied().collect();
            Error::usage(format!(
                "unknown target `{name}` (configured channels: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        selection.targets.push(from_channel(channel, env)?);
    }
    for name in routed {
        if names.contains(name) {
            continue;
        }
        match channels.get(name.as_str()) {
            Some(channel) => selection.targets.push(from_channel(channel, env)?),
            None => selection.unconfigured.push(name.clone()),
        }
    }
    Ok(selection)
}

fn from_channel(channel: &NotifyChannel, env: EnvLookup<'_>) -> Result<Target> {
    if channel.url_env.to_ascii_uppercase().starts_with("SHIPGATE_NOTIFY_") {
        return Err(Error::usage(format!(
            "channel `{}`: url_env `{}` uses the SHIPGATE_NOTIFY_ prefix of configuration overrides; use another name, e.g. SLACK_WEBHOOK_URL",
            channel.name, channel.url_env
        )));
    }
    let raw = env(&channel.url_env)
        .filter(|value| !value.trim().is_empty())
        .ok_or_else(|| {
            Error::usage(format!(
                "channel `{}`: environment variable {} is not set",
                channel.name, channel.url_env
            ))
        })?;
    let mut target = parse(raw.trim(), channel.kind, Some(&channel.name))
        .map_err(|err| Error::usage_with(format!("channel `{}` ({})", channel.name, channel.url_env), err))?;
    target.optional |= channel.optional;
    Ok(target)
}

/// Parses one target URL. `forced` (a channel's `kind`) decides the payload
/// format of a plain `http(s)://` URL instead of detection.
pub fn parse(raw: &str, forced: Option<ChannelKind>, name: Option<&str>) -> Result<Target> {
    // The whole URL is secret until proven otherwise: webhook URLs carry
    // their credentials in the path.
    let has_secret_material = !matches!(
        raw.split_once("://").map(|(s, _)| s),
        Some("stdout" | "file" | "github")
    );
    if has_secret_material {
        register_secret(raw);
    }
    let mut url =
        Url::parse(raw).map_err(|err| Error::usage_with(format!("invalid target URL {}", shown(raw)), err))?;
    let mut query: BTreeMap<String, String> = url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // Options of ours are not secret; anything else in a query (`sig=`,
    // `token=`) may well be.
    for (key, value) in &query {
        if !OUR_OPTIONS.contains(&key.as_str()) && value.len() >= 8 {
            register_secret(value);
        }
    }
    let optional = match query.remove("optional").as_deref() {
        None => false,
        Some("yes" | "true" | "1") => true,
        Some("no" | "false" | "0") => false,
        Some(other) => return Err(Error::usage(format!("`optional={other}`: expected yes or no"))),
    };
    strip_query(&mut url, &["optional"]);
    if has_secret_material {
        register_url_credentials(&url);
    }
    let scheme = url.scheme().to_ascii_lowercase();
    let (kind_prefix, transport) = match scheme.split_once('+') {
        Some((kind, transport)) => (Some(kind.to_string()), transport.to_string()),
        None => (None, scheme.clone()),
    };
    let forced = match kind_prefix.as_deref() {
        Some(prefix) => Some(kind_from_prefix(prefix)?),
        None => forced,
    };
    let endpoint = match (forced, transport.as_str()) {
        (_, "stdout") => Endpoint::Stdout,
        (_, "file") => Endpoint::File {
            path: PathBuf::from(format!("{}{}", url.host_str().unwrap_or_default(), url.path())),
        },
        (_, "github") => Endpoint::GitHub(match url.host_str().unwrap_or_default() {
            "deployment" | "deployments" => GitHubMode::Deployment,
            "comment" | "comments" => GitHubMode::Comment,
            other => {
                return Err(Error::usage(format!(
                    "github://{other}: expected github://deployment or github://comment"
                )));
            }
        }),
        (_, "smtp" | "smtps" | "mailto" | "mailtos") => Endpoint::Email(email(&url, &transport, &mut query)?),
        (None, "slack") => slack_short(&url, &mut query)?,
        (None, "discord") => {
            let (id, token) = two_parts(&url, "discord://WEBHOOK_ID/WEBHOOK_TOKEN")?;
            register_secret(&token);
            Endpoint::Discord {
                url: webhook_url_str(&format!("https://discord.com/api/webhooks/{id}/{token}")),
            }
        }
        (None, "pagerduty") => {
            let key = if url.username().is_empty() {
                url.host_str().unwrap_or_default().to_string()
            } else {
                url.username().to_string()
            };
            Endpoint::PagerDuty {
                url: "https://events.pagerduty.com/v2/enqueue".to_string(),
                routing_key: routing_key(&key)?,
            }
        }
        (None, "statuspage") => {
            let page = url.host_str().unwrap_or_default().to_string();
            if url.username().is_empty() || page.is_empty() {
                return Err(Error::usage("statuspage target: expected statuspage://API_KEY@PAGE_ID"));
            }
            Endpoint::Statuspage {
                page: format!("https://api.statuspage.io/v1/pages/{page}"),
                api_key: Secret::new(url.username()),
            }
        }
        (None, "json" | "jsons") => {
            let scheme = if transport == "jsons" { "https" } else { "http" };
            set_scheme(&mut url, scheme)?;
            webhook(url, &mut query)?
        }
        (None, "teams" | "msteams") => return Err(Error::usage(retired_connector_message())),
        (Some(kind), "http" | "https") => with_kind(kind, url, &mut query)?,
        (None, "http" | "https") => {
            let detected = detect(&url)?;
            with_kind(detected, url, &mut query)?
        }
        (Some(kind), other) => {
            return Err(Error::usage(format!(
                "{} target over `{other}`: use http or https, e.g. {}+https://…",
                kind_name(kind),
                kind_name(kind)
            )));
        }
        (None, other) => return Err(Error::usage(format!("unsupported target scheme `{other}://`"))),
    };
    // HTTP targets keep the rest of their query (Teams' `sig=`, say);
    // other schemes only take the options they know.
    let http_based = matches!(transport.as_str(), "http" | "https" | "json" | "jsons");
    if !http_based && let Some(unused) = query.keys().next() {
        return Err(Error::usage(format!(
            "target {}: unknown option `{unused}`",
            shown(raw)
        )));
    }
    let kind = kind_of(&endpoint);
    let name = match name {
        Some(name) => name.to_string(),
        None => display_name(&endpoint),
    };
    Ok(Target {
        name,
        kind,
        endpoint,
        optional,
    })
}

fn shown(raw: &str) -> String {
    shipgate_core::url_redaction::redact_str(raw)
}

fn retired_connector_message() -> String {
    "Microsoft Teams Office 365 connectors (incoming webhooks on webhook.office.com) are retired; \
     create a Workflows webhook (\"Post to a channel when a webhook request is received\") and pass it as teams+https://…"
        .to_string()
}

fn kind_from_prefix(prefix: &str) -> Result<ChannelKind> {
    Ok(match prefix {
        "slack" => ChannelKind::Slack,
        "discord" => ChannelKind::Discord,
        "teams" | "msteams" => ChannelKind::Teams,
        "pagerduty" => ChannelKind::Pagerduty,
        "statuspage" => ChannelKind::Statuspage,
        "json" | "webhook" => ChannelKind::Webhook,
        other => return Err(Error::usage(format!("unknown target kind `{other}+`"))),
    })
}

pub fn kind_name(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Slack => "slack",
        ChannelKind::Discord => "discord",
        ChannelKind::Teams => "teams",
        ChannelKind::Pagerduty => "pagerduty",
        ChannelKind::Statuspage => "statuspage",
        ChannelKind::Webhook => "webhook",
        ChannelKind::Email => "email",
        ChannelKind::Github => "github",
        ChannelKind::Stdout => "stdout",
        ChannelKind::File => "file",
    }
}

fn kind_of(endpoint: &Endpoint) -> ChannelKind {
    match endpoint {
        Endpoint::SlackWebhook { .. } | Endpoint::SlackBot { .. } => ChannelKind::Slack,
        Endpoint::Discord { .. } => ChannelKind::Discord,
        Endpoint::Teams { .. } => ChannelKind::Teams,
        Endpoint::PagerDuty { .. } => ChannelKind::Pagerduty,
        Endpoint::Statuspage { .. } => ChannelKind::Statuspage,
        Endpoint::Webhook { .. } => ChannelKind::Webhook,
        Endpoint::Email(_) => ChannelKind::Email,
        Endpoint::GitHub(_) => ChannelKind::Github,
        Endpoint::Stdout => ChannelKind::Stdout,
        Endpoint::File { .. } => ChannelKind::File,
    }
}

fn display_name(endpoint: &Endpoint) -> String {
    match endpoint {
        Endpoint::Stdout => "stdout://".to_string(),
        Endpoint::File { path } => format!("file://{}", path.display()),
        Endpoint::GitHub(GitHubMode::Deployment) => "github://deployment".to_string(),
        Endpoint::GitHub(GitHubMode::Comment) => "github://comment".to_string(),
        Endpoint::Email(email) => format!("smtp://{}:{} → {}", email.host, email.port, email.to.join(", ")),
        Endpoint::PagerDuty { url, .. } => format!("pagerduty {}", shown(url)),
        Endpoint::Statuspage { page, .. } => format!("statuspage {}", shown(page)),
        Endpoint::SlackBot { api, channel, .. } => format!("slack {} #{channel}", shown(api)),
        Endpoint::SlackWebhook { url }
        | Endpoint::Discord { url }
        | Endpoint::Teams { url }
        | Endpoint::Webhook { url, .. } => format!(
            "{} {} {}",
            kind_name(kind_of(endpoint)),
            host_only(url.expose()),
            hint(url.expose())
        ),
    }
}

/// `https://host/***`: a webhook's path and query are its credentials.
fn host_only(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => {
            let port = parsed.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}/***",
                parsed.scheme(),
                parsed.host_str().unwrap_or_default()
            )
        }
        Err(_) => "***".to_string(),
    }
}

/// A short stable tag that tells apart targets whose shown URLs are equal
/// (`#3f9a1c`): the first 24 bits of the URL's SHA-256, which say nothing
/// about a credential of 100+ random bits.
fn hint(url: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(url.as_bytes());
    format!("#{}", hex::encode(&digest[..3]))
}

/// A webhook URL held as a secret: its credential parts (token-like path
/// segments, query values) are masked one by one, so `::add-mask::` never
/// carries the whole URL; the URL as a whole is only redacted locally.
fn webhook_url(url: &Url) -> Secret {
    register_url_credentials(url);
    register_secret(url.as_str());
    Secret::with_masked_parts(url.as_str())
}

/// [`webhook_url`] for a URL built from a short form (`slack://…`).
fn webhook_url_str(url: &str) -> Secret {
    match Url::parse(url) {
        Ok(parsed) => webhook_url(&parsed),
        Err(_) => Secret::new(url),
    }
}

/// Registers the parts of a webhook URL that are credentials: long path
/// segments with digits or capitals (Slack's and Discord's tokens, Teams'
/// workflow ids) and query values (signatures), so they stay hidden even
/// when a service quotes them alone in an error.
fn register_url_credentials(url: &Url) {
    for segment in url.path_segments().into_iter().flatten() {
        if segment.len() >= 16 && segment.chars().any(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            let _ = Secret::new(segment);
        }
    }
    for (key, value) in url.query_pairs() {
        if !OUR_OPTIONS.contains(&key.as_ref()) && value.len() >= 8 {
            let _ = Secret::new(value);
        }
    }
    url_redaction::mask(url);
}

/// Query options notify itself reads; none of them is secret.
const OUR_OPTIONS: &[&str] = &["optional", "channel", "to", "from", "tls", "ca", "hmac_env"];

/// What a plain `https://` URL is, by its host.
fn detect(url: &Url) -> Result<ChannelKind> {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let path = url.path();
    if host == "hooks.slack.com" {
        return Ok(ChannelKind::Slack);
    }
    if (host == "discord.com" || host == "discordapp.com") && path.starts_with("/api/webhooks/") {
        return Ok(ChannelKind::Discord);
    }
    if host.ends_with(".webhook.office.com") || (host == "outlook.office.com" && path.starts_with("/webhook")) {
        return Err(Error::usage(retired_connector_message()));
    }
    if host.ends_with(".logic.azure.com") || host.ends_with(".powerplatform.com") {
        return Ok(ChannelKind::Teams);
    }
    if host == "events.pagerduty.com" {
        return Err(Error::usage(
            "a PagerDuty URL needs its routing key: use pagerduty://ROUTING_KEY",
        ));
    }
    Ok(ChannelKind::Webhook)
}

/// A `kind+http(s)://` URL, or a config channel's plain URL with a `kind`.
fn with_kind(kind: ChannelKind, mut url: Url, query: &mut BTreeMap<String, String>) -> Result<Endpoint> {
    let transport = url.scheme().rsplit('+').next().unwrap_or("https").to_string();
    set_scheme(&mut url, &transport)?;
    if kind == ChannelKind::Teams {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if host.ends_with(".webhook.office.com") {
            return Err(Error::usage(retired_connector_message()));
        }
    }
    let user = url.username().to_string();
    Ok(match kind {
        ChannelKind::Slack if user.starts_with("xox") => {
            let token = Secret::new(user);
            let channel = query
                .remove("channel")
                .ok_or_else(|| Error::usage("slack bot target: add ?channel=CHANNEL_ID"))?;
            strip_credentials(&mut url);
            strip_query(&mut url, &["channel"]);
            Endpoint::SlackBot {
                api: url.as_str().trim_end_matches('/').to_string(),
                token,
                channel,
            }
        }
        ChannelKind::Slack => Endpoint::SlackWebhook { url: webhook_url(&url) },
        ChannelKind::Discord => Endpoint::Discord { url: webhook_url(&url) },
        ChannelKind::Teams => Endpoint::Teams { url: webhook_url(&url) },
        ChannelKind::Pagerduty => {
            let routing_key = routing_key(&user)?;
            strip_credentials(&mut url);
            Endpoint::PagerDuty {
                url: url.to_string(),
                routing_key,
            }
        }
        ChannelKind::Statuspage => {
            if user.is_empty() {
                return Err(Error::usage(
                    "statuspage target: put the API key before the host, statuspage+https://API_KEY@host/v1/pages/PAGE_ID",
                ));
            }
            let api_key = Secret::new(user);
            strip_credentials(&mut url);
            Endpoint::Statuspage {
                page: url.as_str().trim_end_matches('/').to_string(),
                api_key,
            }
        }
        ChannelKind::Webhook => webhook(url, query)?,
        other => {
            return Err(Error::usage(format!(
                "a {} target cannot be an http(s) URL",
                kind_name(other)
            )));
        }
    })
}

fn webhook(url: Url, query: &mut BTreeMap<String, String>) -> Result<Endpoint> {
    let hmac_secret = match query.remove("hmac_env") {
        None => None,
        Some(name) => {
            let value = std::env::var(&name)
                .ok()
                .filter(|value| !value.is_empty())
                .ok_or_else(|| Error::usage(format!("hmac_env: environment variable {name} is not set")))?;
            Some(Secret::new(value))
        }
    };
    let mut url = url;
    strip_query(&mut url, &["hmac_env"]);
    Ok(Endpoint::Webhook {
        url: webhook_url(&url),
        hmac_secret,
    })
}

fn slack_short(url: &Url, query: &mut BTreeMap<String, String>) -> Result<Endpoint> {
    if url.username().starts_with("xox") {
        let token = Secret::new(url.username());
        let channel = url.host_str().unwrap_or_default().to_string();
        let channel = query.remove("channel").unwrap_or(channel);
        if channel.is_empty() {
            return Err(Error::usage("slack bot target: expected slack://xoxb-TOKEN@CHANNEL_ID"));
        }
        return Ok(Endpoint::SlackBot {
            api: "https://slack.com/api".to_string(),
            token,
            channel,
        });
    }
    let parts: Vec<&str> = std::iter::once(url.host_str().unwrap_or_default())
        .chain(url.path_segments().into_iter().flatten())
        .filter(|part| !part.is_empty())
        .collect();
    if parts.len() != 3 {
        return Err(Error::usage(
            "slack target: expected slack://T…/B…/TOKEN (the three parts of an incoming webhook URL) or slack://xoxb-TOKEN@CHANNEL",
        ));
    }
    register_secret(parts[2]);
    Ok(Endpoint::SlackWebhook {
        url: webhook_url_str(&format!("https://hooks.slack.com/services/{}", parts.join("/"))),
    })
}

fn two_parts(url: &Url, expected: &str) -> Result<(String, String)> {
    let parts: Vec<&str> = std::iter::once(url.host_str().unwrap_or_default())
        .chain(url.path_segments().into_iter().flatten())
        .filter(|part| !part.is_empty())
        .collect();
    match parts.as_slice() {
        [first, second] => Ok((first.to_string(), second.to_string())),
        _ => Err(Error::usage(format!("expected {expected}"))),
    }
}

fn routing_key(key: &str) -> Result<Secret> {
    if key.len() != 32 || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        register_secret(key);
        return Err(Error::usage(
            "PagerDuty routing key: expected the 32-character integration key of an Events API v2 integration",
        ));
    }
    Ok(Secret::new(key))
}

fn email(url: &Url, transport: &str, query: &mut BTreeMap<String, String>) -> Result<EmailTarget> {
    let implicit = transport.ends_with('s');
    let security = match query.remove("tls").as_deref() {
        None => {
            if implicit {
                SmtpSecurity::Implicit
            } else {
                SmtpSecurity::StartTls
            }
        }
        Some("starttls") => SmtpSecurity::StartTls,
        Some("implicit") => SmtpSecurity::Implicit,
        Some("none") => SmtpSecurity::None,
        Some(other) => {
            return Err(Error::usage(format!(
                "email target: `tls={other}`: expected starttls, implicit or none"
            )));
        }
    };
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| Error::usage("email target: expected smtp://USER:PASSWORD@HOST:PORT?from=…&to=…"))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = url.port().unwrap_or(match security {
        SmtpSecurity::Implicit => 465,
        _ => 587,
    });
    let username = (!url.username().is_empty()).then(|| percent_decode(url.username()));
    let password = url.password().map(|p| Secret::new(percent_decode(p)));
    let to: Vec<String> = query
        .remove("to")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|address| !address.is_empty())
        .map(str::to_string)
        .collect();
    if to.is_empty() {
        return Err(Error::usage("email target: add ?to=ADDRESS[,ADDRESS…]"));
    }
    let from = match query.remove("from") {
        Some(from) => from,
        None => match &username {
            Some(user) if user.contains('@') => user.clone(),
            _ => return Err(Error::usage("email target: add ?from=ADDRESS")),
        },
    };
    for address in to.iter().chain(std::iter::once(&from)) {
        address
            .parse::<lettre::Address>()
            .map_err(|err| Error::usage_with(format!("email target: `{address}` is not an email address"), err))?;
    }
    Ok(EmailTarget {
        host,
        port,
        security,
        username,
        password,
        from,
        to,
        ca_file: query.remove("ca").map(PathBuf::from),
    })
}

fn percent_decode(text: &str) -> String {
    // Url keeps userinfo percent-encoded; a password with `@` or `:` arrives as %40/%3A.
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn set_scheme(url: &mut Url, scheme: &str) -> Result<()> {
    // Url refuses to switch between special and non-special schemes in place.
    let rest = url
        .as_str()
        .split_once(':')
        .map(|(_, rest)| rest.to_string())
        .unwrap_or_default();
    *url = Url::parse(&format!("{scheme}:{rest}"))
        .map_err(|err| Error::usage_with(format!("invalid target URL {}", url_redaction::redact(url)), err))?;
    Ok(())
}

/// Removes our own options from a URL so they never reach the receiver.
fn strip_query(url: &mut Url, keys: &[&str]) {
    if url.query().is_none() {
        return;
    }
    let rest: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| !keys.contains(&key.as_ref()))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if rest.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(rest);
    }
}

fn strip_credentials(url: &mut Url) {
    let _ = url.set_username("");
    let _ = url.set_password(None);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(raw: &str) -> Endpoint {
        parse(raw, None, None)
            .unwrap_or_else(|err| panic!("{raw}: {err}"))
            .endpoint
    }

    fn usage_error(raw: &str) -> String {
        let err = parse(raw, None, None).expect_err(raw);
        assert_eq!(err.exit_code(), shipgate_core::exit::ExitCode::Usage, "{raw}");
        err.to_string()
    }

    const KEY: &str = "R0123456789abcdefR0123456789abcd";

    #[test]
    fn short_forms_expand_to_the_services_urls() {
        match endpoint("slack://T000/B000/XXXXXXXXXXXXXXXX") {
            Endpoint::SlackWebhook { url } => {
                assert_eq!(
                    url.expose(),
                    "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
                )
            }
            other => panic!("{other:?}"),
        }
        match endpoint("discord://1234/tokenTOKENtoken") {
            Endpoint::Discord { url } => {
                assert_eq!(url.expose(), "https://discord.com/api/webhooks/1234/tokenTOKENtoken")
            }
            other => panic!("{other:?}"),
        }
        match endpoint(&format!("pagerduty://{KEY}")) {
            Endpoint::PagerDuty { url, routing_key } => {
                assert_eq!(url, "https://events.pagerduty.com/v2/enqueue");
                assert_eq!(routing_key.expose(), KEY);
            }
            other => panic!("{other:?}"),
        }
        match endpoint("statuspage://key123456789@pg42") {
            Endpoint::Statuspage { page, api_key } => {
                assert_eq!(page, "https://api.statuspage.io/v1/pages/pg42");
                assert_eq!(api_key.expose(), "key123456789");
            }
            other => panic!("{other:?}"),
        }
        match endpoint("slack://xoxb-1-2-abc@C0123") {
            Endpoint::SlackBot { api, token, channel } => {
                assert_eq!(api, "https://slack.com/api");
                assert_eq!(token.expose(), "xoxb-1-2-abc");
                assert_eq!(channel, "C0123");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(endpoint("stdout://"), Endpoint::Stdout));
        match endpoint("file:///tmp/notify.jsonl") {
            Endpoint::File { path } => assert_eq!(path, PathBuf::from("/tmp/notify.jsonl")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn raw_service_urls_are_detected() {
        assert!(matches!(
            endpoint("https://hooks.slack.com/services/T0/B0/abcdefabcdefabcdef"),
            Endpoint::SlackWebhook { .. }
        ));
        assert!(matches!(
            endpoint("https://discord.com/api/webhooks/1/abcdef"),
            Endpoint::Discord { .. }
        ));
        assert!(matches!(
            endpoint("https://prod-01.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=x"),
            Endpoint::Teams { .. }
        ));
        assert!(matches!(endpoint("https://example.com/hook"), Endpoint::Webhook { .. }));
        match endpoint("jsons://status.example.com/notify?optional=yes&x=1") {
            Endpoint::Webhook { url, .. } => assert_eq!(url.expose(), "https://status.example.com/notify?x=1"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn explicit_kinds_route_any_url() {
        match endpoint(&format!("pagerduty+http://{KEY}@127.0.0.1:9/v2/enqueue")) {
            Endpoint::PagerDuty { url, .. } => assert_eq!(url, "http://127.0.0.1:9/v2/enqueue"),
            other => panic!("{other:?}"),
        }
        match endpoint("slack+http://xoxb-9@127.0.0.1:9/api?channel=C1") {
            Endpoint::SlackBot { api, channel, .. } => {
                assert_eq!(api, "http://127.0.0.1:9/api");
                assert_eq!(channel, "C1");
            }
            other => panic!("{other:?}"),
        }
        assert!(parse("http://127.0.0.1:9/x", Some(ChannelKind::Discord), None).is_ok());
        let target = parse("teams+http://127.0.0.1:9/x?optional=yes", None, None).unwrap();
        assert!(target.optional);
        assert_eq!(target.kind, ChannelKind::Teams);
    }

    #[test]
    fn retired_and_malformed_targets_are_usage_errors() {
        assert!(usage_error("https://acme.webhook.office.com/webhookb2/abc/IncomingWebhook/def").contains("retired"));
        assert!(usage_error("msteams://abc/def").contains("Workflows"));
        assert!(usage_error("pagerduty://short").contains("32-character"));
        assert!(usage_error("slack://only/two").contains("slack://"));
        assert!(usage_error("gopher://x").contains("unsupported"));
        assert!(usage_error("https://example.com/x?optional=maybe").contains("optional"));
        assert!(usage_error("smtp://mail.example.com").contains("to="));
        assert!(usage_error("stdout://?colour=red").contains("unknown option"));
    }

    #[test]
    fn email_urls_carry_tls_mode_and_addresses() {
        match endpoint("smtps://bot%40acme.test:p%40ss@mail.acme.test?to=a@acme.test,b@acme.test") {
            Endpoint::Email(email) => {
                assert_eq!(email.security, SmtpSecurity::Implicit);
                assert_eq!(email.port, 465);
                assert_eq!(email.from, "bot@acme.test");
                assert_eq!(email.password.unwrap().expose(), "p@ss");
                assert_eq!(email.to, ["a@acme.test", "b@acme.test"]);
            }
            other => panic!("{other:?}"),
        }
        match endpoint("smtp://127.0.0.1:2525?tls=none&from=ci@acme.test&to=ops@acme.test") {
            Endpoint::Email(email) => {
                assert_eq!(email.security, SmtpSecurity::None);
                assert_eq!(email.port, 2525);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn display_names_never_show_secrets() {
        let raw = "https://hooks.slack.com/services/T0/B0/SecretSecretSecret42";
        let target = parse(raw, None, None).unwrap();
        assert_eq!(target.name, "slack https://hooks.slack.com/*** #e8fe26");
        let target = parse(&format!("pagerduty://{KEY}"), None, None).unwrap();
        assert!(!target.name.contains(KEY), "{}", target.name);
    }

    #[test]
    fn channels_resolve_from_the_environment() {
        let config = NotifyConfig {
            channels: vec![
                NotifyChannel {
                    name: "slack_alert".into(),
                    kind: None,
                    url_env: "SLACK_WEBHOOK_URL".into(),
                    optional: false,
                },
                NotifyChannel {
                    name: "status_page".into(),
                    kind: Some(ChannelKind::Webhook),
                    url_env: "STATUS_PAGE_WEBHOOK".into(),
                    optional: true,
                },
            ],
            ..NotifyConfig::default()
        };
        let env = |name: &str| match name {
            "SLACK_WEBHOOK_URL" => Some("https://hooks.slack.com/services/T/B/abcdefabcdef0123".to_string()),
            "STATUS_PAGE_WEBHOOK" => Some("https://status.example.com/hook".to_string()),
            _ => None,
        };
        let routed: Vec<String> = ["slack_alert", "pagerduty", "status_page"].map(String::from).to_vec();
        let selection = select(&[], &[], &routed, &config, &env).unwrap();
        let names: Vec<&str> = selection.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["slack_alert", "status_page"]);
        assert!(selection.targets[1].optional);
        assert_eq!(selection.unconfigured, ["pagerduty"]);

        let missing = select(&[], &["slack_alert".into()], &[], &config, &|_: &str| None).unwrap_err();
        assert!(
            missing.to_string().contains("SLACK_WEBHOOK_URL is not set"),
            "{missing}"
        );
        let unknown = select(&[], &["nope".into()], &[], &config, &env).unwrap_err();
        assert!(unknown.to_string().contains("unknown target `nope`"), "{unknown}");
    }
}

//! The browser tests' harness: a headless Debian Chromium driven over WebDriver (fantoccini)
//! through a `chromedriver` this harness starts on a free port, axe-core injected into the
//! page, and full-page screenshots under `target/screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them) and `npm` (for `npm ci --prefix tests/browser`,
//! run once per test process when `tests/browser/node_modules` is missing).
//!
//! Each [`Browser`] is one chromedriver with one browser session and a fresh profile
//! directory; dropping it kills chromedriver and the browser (their whole process group).

use anyhow::{Context, Result, anyhow, bail, ensure};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;

use crate::root;

/// The browser Debian's `chromium` package installs.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// The WebDriver server Debian's `chromium-driver` package installs.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The browser window (and so the screenshots' width and first screen).
pub const WINDOW: (u32, u32) = (1280, 900);

/// Tallest full-page screenshot, in CSS pixels (longer pages are cut there).
pub const MAX_SCREENSHOT_HEIGHT: u32 = 12_000;

/// How a browser session starts.
#[derive(Clone, Debug)]
pub struct Options {
    /// JavaScript on (`true`) or off (Blink's `scriptEnabled=false`: the page's scripts do not
    /// run; WebDriver's own script calls still do).
    pub javascript: bool,
    /// The `Accept-Language` header the browser sends (Chromium's `intl.accept_languages`
    /// preference), e.g. `"zh-CN,zh"` or `"en-US,en"`.
    pub accept_language: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            javascript: true,
            accept_language: "en-US,en".to_string(),
        }
    }
}

/// A chromedriver child process in a process group of its own; the group (chromedriver and
/// every browser process it started) is killed with SIGKILL on drop.
struct Driver {
    child: tokio::process::Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // The group chromedriver leads (process_group(0) below): only what it started.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.start_kill();
    }
}

impl Driver {
    /// Starts chromedriver on a free port of 127.0.0.1 and waits (up to 15 s) until it answers
    /// `GET /status` with `ready: true`.
    async fn start() -> Result<Driver> {
        ensure!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: apt-get install chromium chromium-driver"
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let child = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(resp) = client.get(format!("{}/status", driver.url)).send().await
                && let Ok(status) = resp.json::<Value>().await
                && status["value"]["ready"] == json!(true)
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                bail!("chromedriver on port {port} did not become ready in 15 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// One headless Chromium session on the app at `base`.
pub struct Browser {
    pub client: Client,
    /// The app's root URL, `http://127.0.0.1:<port>`.
    pub base: String,
    // Dropped after `client`'s last use: the profile directory and the driver's processes.
    _profile: TempDir,
    _driver: Driver,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, for the app at `base`.
    /// The flags keep Chromium from making any connection of its own (this machine refuses
    /// them, and a test must not depend on them).
    pub async fn start(base: &str, options: &Options) -> Result<Browser> {
        ensure!(
            std::path::Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: apt-get install chromium chromium-driver"
        );
        let driver = Driver::start().await?;
        let profile = tempfile::tempdir()?;
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--disable-dev-shm-usage".to_string(),
            // The browser's own locale (date controls' format); pages get their language from
            // `accept_language`.
            "--lang=en-US".to_string(),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if !options.javascript {
            args.push("--blink-settings=scriptEnabled=false".to_string());
        }
        let mut prefs = json!({ "intl": { "accept_languages": options.accept_language } });
        if !options.javascript {
            prefs["profile"] = json!({ "managed_default_content_settings": { "javascript": 2 } });
        }
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args, "prefs": prefs },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            bail!("capabilities are not an object");
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .context("starting a Chromium session through chromedriver")?;
        Ok(Browser {
            client,
            base: base.trim_end_matches('/').to_string(),
            _profile: profile,
            _driver: driver,
        })
    }

    /// Ends the session (the browser exits), then chromedriver is killed.
    pub async fn close(self) -> Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }

    /// Opens `path` (e.g. `/apply?lang=en`) on the app.
    pub async fn goto(&self, path: &str) -> Result<()> {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .with_context(|| format!("opening {path}"))
    }

    /// The current URL's path and query (`/applications/..`).
    pub async fn path(&self) -> Result<String> {
        let url = self.client.current_url().await?;
        Ok(match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        })
    }

    /// The element with this `id`.
    pub async fn by_id(&self, id: &str) -> Result<Element> {
        self.client
            .find(Locator::Id(id))
            .await
            .with_context(|| format!("no element with id {id:?} on {}", self.describe()))
    }

    /// The element matching a CSS selector.
    pub async fn css(&self, selector: &str) -> Result<Element> {
        self.client
            .find(Locator::Css(selector))
            .await
            .with_context(|| format!("nothing matches {selector:?}"))
    }

    /// Every element matching a CSS selector.
    pub async fn all(&self, selector: &str) -> Result<Vec<Element>> {
        Ok(self.client.find_all(Locator::Css(selector)).await?)
    }

    /// Waits (up to 10 s) for an element with this `id`, e.g. the page after a submit.
    pub async fn wait_for_id(&self, id: &str) -> Result<Element> {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Id(id))
            .await
            .with_context(|| format!("no element with id {id:?} appeared"))
    }

    /// The visible text of the element with this `id`, trimmed.
    pub async fn text_of(&self, id: &str) -> Result<String> {
        Ok(self.by_id(id).await?.text().await?.trim().to_string())
    }

    /// The `<html lang>` of the current page.
    pub async fn lang(&self) -> Result<String> {
        self.css("html")
            .await?
            .attr("lang")
            .await?
            .ok_or_else(|| anyhow!("<html> has no lang"))
    }

    /// The `value` property of the element with this `id`.
    pub async fn value_of(&self, id: &str) -> Result<String> {
        Ok(self
            .by_id(id)
            .await?
            .prop("value")
            .await?
            .unwrap_or_default())
    }

    fn describe(&self) -> String {
        format!("the page at {}", self.base)
    }

    /// Saves a PNG of the whole page (up to [`MAX_SCREENSHOT_HEIGHT`]) as
    /// `target/screenshots/<name>.png`, and returns its path. The window is made as tall as
    /// the page for the shot, then set back.
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        // The page's height plus the window's own (set_window_size sizes the outer window).
        let height = self
            .client
            .execute(
                "return Math.ceil(document.documentElement.scrollHeight) \
                 + Math.max(0, window.outerHeight - window.innerHeight);",
                vec![],
            )
            .await?
            .as_u64()
            .unwrap_or(u64::from(WINDOW.1));
        let height = u32::try_from(height)
            .unwrap_or(MAX_SCREENSHOT_HEIGHT)
            .clamp(WINDOW.1, MAX_SCREENSHOT_HEIGHT);
        self.client.set_window_size(WINDOW.0, height).await?;
        let png = self.client.screenshot().await;
        self.client.set_window_size(WINDOW.0, WINDOW.1).await?;
        let dir = root().join("target/screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png?).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Runs axe-core (WCAG 2.0/2.1/2.2 A and AA rules and axe's best practices) on the current
    /// page and fails listing every violation of impact `serious` or `critical` (rule id,
    /// impact, help text and the offending elements' selectors). Returns how many rules passed
    /// and how many violations of lower impact were found, for the log.
    pub async fn axe(&self, page: &str) -> Result<(usize, usize)> {
        let source = axe_source()?;
        // WebDriver runs the script as a function body through DevTools, so the page's
        // Content-Security-Policy does not stop it and axe.min.js defines `window.axe`.
        let script = format!(
            "{source}\n;const done = arguments[arguments.length - 1];\n\
             window.axe.run(document, {{ runOnly: {{ type: 'tag', values: \
             ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] }}, \
             resultTypes: ['violations'] }})\n\
             .then(r => done({{ passes: r.passes.length, violations: r.violations.map(v => \
             ({{ id: v.id, impact: v.impact, help: v.help, \
             targets: v.nodes.map(n => n.target.join(' ')) }})) }}))\n\
             .catch(e => done({{ error: String(e) }}));"
        );
        let result = self
            .client
            .execute_async(&script, vec![])
            .await
            .with_context(|| format!("running axe-core on {page}"))?;
        if let Some(error) = result.get("error") {
            bail!("axe-core failed on {page}: {error}");
        }
        let violations = result["violations"]
            .as_array()
            .ok_or_else(|| anyhow!("axe-core gave no violations list on {page}: {result}"))?;
        let serious: Vec<String> = violations
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .map(|v| {
                format!(
                    "{} ({}): {} at {}",
                    v["id"].as_str().unwrap_or("?"),
                    v["impact"].as_str().unwrap_or("?"),
                    v["help"].as_str().unwrap_or("?"),
                    v["targets"]
                )
            })
            .collect();
        ensure!(
            serious.is_empty(),
            "axe-core: {} serious or critical violation(s) on {page}:\n{}",
            serious.len(),
            serious.join("\n")
        );
        let passes = result["passes"].as_u64().unwrap_or(0) as usize;
        Ok((passes, violations.len()))
    }
}

/// `tests/browser/node_modules/axe-core/axe.min.js`, after `npm ci --prefix tests/browser` if
/// `node_modules` is missing (once per test process).
fn axe_source() -> Result<&'static str> {
    static SOURCE: OnceLock<Result<String, String>> = OnceLock::new();
    let source = SOURCE.get_or_init(|| {
        let dir = root().join("tests/browser");
        let file = dir.join("node_modules/axe-core/axe.min.js");
        if !file.exists() {
            let status = std::process::Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--prefix"])
                .arg(&dir)
                .stdout(Stdio::null())
                .status()
                .map_err(|e| format!("cannot run npm (apt-get install nodejs npm): {e}"))?;
            if !status.success() {
                return Err(format!(
                    "npm ci --prefix {} failed: {status}",
                    dir.display()
                ));
            }
        }
        std::fs::read_to_string(&file).map_err(|e| format!("reading {}: {e}", file.display()))
    });
    match source {
        Ok(text) => Ok(text),
        Err(e) => bail!("{e}"),
    }
}

/// Turns a form field's name into its control's `id` as the HTML contract makes it: `f-`, then
/// the name with `.` and `[` replaced by `-` and `]` removed
/// (`sites[0].personnel.full_time` → `f-sites-0-personnel-full_time`).
pub fn control_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        match c {
            '.' | '[' => id.push('-'),
            ']' => {}
            c => id.push(c),
        }
    }
    id
}

/// Flattens an application (the JSON contract) into the form's `(name, value)` pairs:
/// `organization.legal_name`, `standards[0].code`, `sites[0].personnel.part_time[0].count`;
/// booleans as `true`/`false`, numbers as their text; `null` leaves are left out.
pub fn form_fields(application: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::Object(members) => {
                for (key, v) in members {
                    let name = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    walk(&name, v, out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            Value::Null => {}
            Value::Bool(b) => out.push((prefix.to_string(), b.to_string())),
            Value::Number(n) => out.push((prefix.to_string(), n.to_string())),
            Value::String(s) => out.push((prefix.to_string(), s.clone())),
        }
    }
    let mut out = Vec::new();
    walk("", application, &mut out);
    out
}

impl Browser {
    /// Sets the form control for field `name` to `value` the way a person would: types into
    /// text, number, email, URL and date boxes (dates as the en-US date control takes them,
    /// `MMDDYYYY`), picks the option of a `<select>`, ticks or unticks a checkbox (`true` /
    /// `false`), or clicks the radio button `input[name=<name>][value=<value>]`.
    pub async fn fill(&self, name: &str, value: &str) -> Result<()> {
        let id = control_id(name);
        let element = match self.client.find(Locator::Id(&id)).await {
            Ok(element) => element,
            Err(_) => {
                // A radio group: one control per value, found by name and value.
                let selector = format!("input[type=radio][name=\"{name}\"][value=\"{value}\"]");
                let radio = self
                    .client
                    .find(Locator::Css(&selector))
                    .await
                    .with_context(|| {
                        format!("the form has no control #{id} (nor a radio {selector})")
                    })?;
                radio.click().await?;
                return Ok(());
            }
        };
        let tag = element.tag_name().await?.to_ascii_lowercase();
        let kind = element
            .attr("type")
            .await?
            .unwrap_or_default()
            .to_ascii_lowercase();
        match (tag.as_str(), kind.as_str()) {
            ("select", _) => element
                .select_by_value(value)
                .await
                .with_context(|| format!("#{id} has no option {value:?}"))?,
            ("input", "checkbox") => {
                let want = value == "true";
                if element.is_selected().await? != want {
                    element.click().await?;
                }
            }
            ("input", "radio") => element.click().await?,
            ("input", "date") => {
                let digits: Vec<&str> = value.split('-').collect();
                let [y, m, d] = digits[..] else {
                    bail!("{name}: {value:?} is not YYYY-MM-DD");
                };
                element.click().await?;
                element.send_keys(&format!("{m}{d}{y}")).await?;
            }
            _ => {
                element.clear().await?;
                element.send_keys(value).await?;
            }
        }
        Ok(())
    }

    /// [`Browser::fill`] for each field, in order.
    pub async fn fill_all(&self, fields: &[(String, String)]) -> Result<()> {
        for (name, value) in fields {
            self.fill(name, value)
                .await
                .with_context(|| format!("filling {name} = {value:?}"))?;
        }
        Ok(())
    }

    /// The posted value a control now holds as the form would send it: `value` for text
    /// boxes and selects, `true` / `false` for checkboxes.
    pub async fn control_value(&self, name: &str) -> Result<String> {
        let element = self.by_id(&control_id(name)).await?;
        let kind = element.attr("type").await?.unwrap_or_default();
        if kind.eq_ignore_ascii_case("checkbox") {
            return Ok(element.is_selected().await?.to_string());
        }
        Ok(element.prop("value").await?.unwrap_or_default())
    }
}

impl Browser {
    /// Types `keys` on the keyboard into whatever has focus (WebDriver key actions, as a
    /// person's keystrokes: no element is targeted). Special keys as [`fantoccini::key::Key`]
    /// characters, e.g. `Key::Tab.to_string()`.
    pub async fn press(&self, keys: &str) -> Result<()> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let mut actions = KeyActions::new("keyboard".to_string());
        for value in keys.chars() {
            actions = actions
                .then(KeyAction::Down { value })
                .then(KeyAction::Up { value });
        }
        self.client.perform_actions(actions).await?;
        Ok(())
    }

    /// The `id` of the element that has focus (`""` when it has none).
    pub async fn focused_id(&self) -> Result<String> {
        let element = self.client.active_element().await?;
        Ok(element.attr("id").await?.unwrap_or_default())
    }
}

//! The subset of Spin's application manifest (`spin.toml`, `spin_manifest_version = 2`) that
//! the local host runs. Keys follow Spin's manifest v2 reference; a documented Spin key this host
//! cannot honour is refused at start-up with its name, never silently ignored.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parsed and checked `spin.toml`.
#[derive(Debug)]
pub struct Manifest {
    /// The manifest file itself.
    pub path: PathBuf,
    /// The folder the manifest lives in: relative paths are resolved against it (as Spin does).
    pub dir: PathBuf,
    pub application: Application,
    pub variables: BTreeMap<String, VariableDecl>,
    /// HTTP triggers in declaration order.
    pub http_triggers: Vec<HttpTrigger>,
    pub components: BTreeMap<String, Component>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    application: Application,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: BTreeMap<String, Vec<toml::Value>>,
    #[serde(default)]
    component: BTreeMap<String, Component>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    pub name: String,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub authors: Vec<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub targets: Vec<String>,
    /// Per-trigger application settings; Spin 2+ accepts none for `http` that matter here.
    #[serde(default)]
    pub trigger: Option<toml::Table>,
}

/// An application variable (`[variables]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub secret: bool,
    #[serde(default)]
    pub description: Option<String>,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    pub component: String,
    pub route: Route,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Public(String),
    /// `route = { private = true }`: reachable only by service chaining.
    Private,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    /// A trigger's optional name: valid in Spin's manifest, meaningless to this host.
    #[serde(default, rename = "id")]
    _id: Option<String>,
    route: RawRoute,
    component: toml::Value,
    #[serde(default)]
    executor: Option<toml::Table>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

/// `[component.<id>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub source: toml::Value,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub files: Vec<FileMount>,
    #[serde(default)]
    pub exclude_files: Vec<String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub allowed_http_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub ai_models: Vec<String>,
    #[serde(default)]
    pub build: Option<BuildConfig>,
    /// Free-form settings for external tools (Spin ignores it too).
    #[serde(default)]
    pub tool: Option<toml::Table>,
    #[serde(default)]
    pub dependencies_inherit_configuration: bool,
    #[serde(default)]
    pub dependencies: Option<toml::Table>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FileMount {
    /// A path relative to the manifest folder, mounted at the same path in the guest.
    Pattern(String),
    Mapping {
        source: String,
        destination: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuildConfig {
    pub command: BuildCommand,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub watch: Vec<String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum BuildCommand {
    One(String),
    Many(Vec<String>),
}

impl BuildCommand {
    pub fn commands(&self) -> Vec<&str> {
        match self {
            BuildCommand::One(c) => vec![c.as_str()],
            BuildCommand::Many(cs) => cs.iter().map(String::as_str).collect(),
        }
    }
}

impl Component {
    /// The `.wasm` file this component runs, resolved against the manifest folder.
    pub fn wasm_path(&self, manifest_dir: &Path) -> Result<PathBuf> {
        match &self.source {
            toml::Value::String(path) => Ok(manifest_dir.join(path)),
            toml::Value::Table(t) if t.contains_key("url") => {
                bail!(
                    "`source = {{ url = ... }}` (a remote component) is not supported by this host: download it and name the file"
                )
            }
            other => bail!("`source` must be a path to a .wasm file, found {other}"),
        }
    }
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Manifest> {
        let at = path.display();
        let raw: RawManifest =
            toml::from_str(text).with_context(|| format!("{at}: invalid Spin manifest"))?;
        if raw.spin_manifest_version.as_integer() != Some(2)
            && raw.spin_manifest_version.as_str() != Some("2")
        {
            bail!(
                "{at}: `spin_manifest_version` must be 2, found {}",
                raw.spin_manifest_version
            );
        }
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));

        for (id, component) in &raw.component {
            check_component(id, component).with_context(|| format!("{at}: [component.{id}]"))?;
        }

        let mut http_triggers = Vec::new();
        for (kind, entries) in raw.trigger {
            if kind != "http" {
                bail!("{at}: `[[trigger.{kind}]]`: only HTTP triggers are supported by this host");
            }
            for (index, entry) in entries.into_iter().enumerate() {
                let trigger: RawHttpTrigger = entry
                    .try_into()
                    .with_context(|| format!("{at}: [[trigger.http]] #{}", index + 1))?;
                let component = match trigger.component {
                    toml::Value::String(id) => id,
                    _ => bail!(
                        "{at}: [[trigger.http]] #{}: inline components are not supported by this host; declare [component.<id>] and name it",
                        index + 1
                    ),
                };
                if !raw.component.contains_key(&component) {
                    bail!(
                        "{at}: [[trigger.http]] #{} names component `{component}`, which is not declared",
                        index + 1
                    );
                }
                if let Some(executor) = &trigger.executor {
                    let kind = executor.get("type").and_then(toml::Value::as_str);
                    if kind != Some("spin") {
                        bail!(
                            "{at}: [[trigger.http]] #{}: executor {kind:?} is not supported by this host (only `spin`)",
                            index + 1
                        );
                    }
                }
                let route = match trigger.route {
                    RawRoute::Path(p) => Route::Public(p),
                    RawRoute::Private { private: true } => Route::Private,
                    RawRoute::Private { private: false } => bail!(
                        "{at}: [[trigger.http]] #{}: `route = {{ private = false }}` is not a route; give a path",
                        index + 1
                    ),
                };
                http_triggers.push(HttpTrigger { component, route });
            }
        }

        Ok(Manifest {
            path: path.to_path_buf(),
            dir,
            application: raw.application,
            variables: raw.variables,
            http_triggers,
            components: raw.component,
        })
    }
}

fn check_component(id: &str, c: &Component) -> Result<()> {
    // Spin's component ids: lowercase words joined by `-` (a "kebab-case" name).
    let valid_id = !id.is_empty()
        && id.split('-').all(|word| {
            !word.is_empty()
                && word
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
        })
        && id.starts_with(|ch: char| ch.is_ascii_lowercase());
    if !valid_id {
        bail!("component id `{id}` must be lowercase words separated by `-`");
    }
    if !c.allowed_http_hosts.is_empty() {
        bail!("`allowed_http_hosts` is the Spin 1 key; use `allowed_outbound_hosts`");
    }
    if !c.sqlite_databases.is_empty() {
        bail!("`sqlite_databases` is not supported by this host");
    }
    if !c.ai_models.is_empty() {
        bail!("`ai_models` is not supported by this host");
    }
    if c.dependencies.is_some() {
        bail!("`dependencies` (component composition) is not supported by this host");
    }
    if !c.exclude_files.is_empty() {
        bail!("`exclude_files` is not supported by this host");
    }
    for mount in &c.files {
        if let FileMount::Pattern(p) = mount
            && p.contains(['*', '?', '['])
        {
            bail!(
                "`files` entry `{p}`: glob patterns are not supported by this host; name a directory or use {{ source, destination }}"
            );
        }
    }
    Ok(())
}

/// `--runtime-config-file`: the key-value stores the operator configured.
#[derive(Debug, Default, Deserialize)]
pub struct RuntimeConfig {
    #[serde(default)]
    pub key_value_store: BTreeMap<String, KeyValueStoreConfig>,
}

/// One `[key_value_store.<label>]` table. As in Spin, keys a type does not use are ignored.
#[derive(Debug, Deserialize)]
pub struct KeyValueStoreConfig {
    #[serde(rename = "type")]
    pub kind: String,
    /// `type = "spin"`: the SQLite file, relative to the runtime config's folder.
    #[serde(default)]
    pub path: Option<String>,
    /// `type = "redis"`: the server, `redis://[user:password@]host[:port][/db]`.
    #[serde(default)]
    pub url: Option<String>,
}

/// The backend behind one key-value label.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum KvBackend {
    /// SQLite, in this file (Spin's `type = "spin"`, the default).
    Sqlite(PathBuf),
    /// Redis at this URL (Spin's `type = "redis"`); the label is ignored, as in Spin.
    Redis(String),
}

impl RuntimeConfig {
    pub fn load(path: &Path) -> Result<RuntimeConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read runtime config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{}: invalid runtime config", path.display()))
    }

    /// The backend behind each key-value label, as Spin chooses it: `default` always exists
    /// (SQLite at `<state-dir>/sqlite_key_value.db` unless configured); `type = "spin"` is
    /// SQLite (at `path`, else `<state-dir>/sqlite_key_value_<label>.db`), `type = "redis"`
    /// is Redis at `url` (required, checked here without connecting). Any other type is
    /// refused, naming the label.
    pub fn key_value_backends(
        &self,
        config_dir: &Path,
        state_dir: &Path,
    ) -> Result<BTreeMap<String, KvBackend>> {
        let mut backends = BTreeMap::new();
        backends.insert(
            "default".to_string(),
            KvBackend::Sqlite(state_dir.join("sqlite_key_value.db")),
        );
        for (label, store) in &self.key_value_store {
            let backend = match store.kind.as_str() {
                "spin" => KvBackend::Sqlite(match &store.path {
                    Some(p) => config_dir.join(p),
                    None => state_dir.join(format!("sqlite_key_value_{label}.db")),
                }),
                "redis" => {
                    let Some(url) = &store.url else {
                        bail!("[key_value_store.{label}]: type `redis` needs `url`");
                    };
                    crate::kv::redis::RedisStore::new(url)
                        .with_context(|| format!("[key_value_store.{label}]: `url`"))?;
                    KvBackend::Redis(url.clone())
                }
                other => bail!(
                    "[key_value_store.{label}]: type `{other}` is not supported by this host (only `spin`, SQLite, and `redis`)"
                ),
            };
            backends.insert(label.clone(), backend);
        }
        Ok(backends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "t"
[variables]
token = { required = true, secret = true }
[[trigger.http]]
route = "/a/..."
component = "a"
[[trigger.http]]
route = { private = true }
component = "b-two"
[component.a]
source = "a.wasm"
key_value_stores = ["default"]
[component.a.build]
command = "cargo build"
workdir = "x"
[component.b-two]
source = "b.wasm"
"#;

    #[test]
    fn parses_triggers_in_order_with_private_routes() -> Result<()> {
        let m = Manifest::parse(Path::new("/app/spin.toml"), MINIMAL)?;
        assert_eq!(m.http_triggers.len(), 2);
        assert_eq!(m.http_triggers[0].route, Route::Public("/a/...".into()));
        assert_eq!(m.http_triggers[1].route, Route::Private);
        assert_eq!(m.dir, PathBuf::from("/app"));
        assert_eq!(
            m.components["a"].wasm_path(&m.dir)?,
            PathBuf::from("/app/a.wasm")
        );
        assert!(m.variables["token"].required);
        Ok(())
    }

    #[test]
    fn unknown_key_is_refused_with_its_name() {
        let text = MINIMAL.replace("key_value_stores", "key_value_store");
        let err = Manifest::parse(Path::new("spin.toml"), &text)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("key_value_store"), "{err}");
        assert!(err.contains("spin.toml"), "{err}");
    }

    #[test]
    fn trigger_naming_an_undeclared_component_is_refused() {
        let text = MINIMAL.replace("component = \"a\"", "component = \"zz\"");
        let err = Manifest::parse(Path::new("spin.toml"), &text)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("`zz`"), "{err}");
    }

    #[test]
    fn wrong_manifest_version_is_refused() {
        let text = MINIMAL.replace("spin_manifest_version = 2", "spin_manifest_version = 1");
        assert!(Manifest::parse(Path::new("spin.toml"), &text).is_err());
    }

    #[test]
    fn runtime_config_chooses_backends_as_spin() -> Result<()> {
        let rc: RuntimeConfig = toml::from_str(
            "[key_value_store.default]\ntype = \"redis\"\nurl = \"redis://x:6380\"\n\
             [key_value_store.other]\ntype = \"spin\"\npath = \"kv.db\"\n\
             [key_value_store.third]\ntype = \"spin\"",
        )?;
        let backends = rc.key_value_backends(Path::new("/c"), Path::new("/s"))?;
        assert_eq!(
            backends["default"],
            KvBackend::Redis("redis://x:6380".into())
        );
        assert_eq!(
            backends["other"],
            KvBackend::Sqlite(PathBuf::from("/c/kv.db"))
        );
        assert_eq!(
            backends["third"],
            KvBackend::Sqlite(PathBuf::from("/s/sqlite_key_value_third.db"))
        );
        let none = RuntimeConfig::default().key_value_backends(Path::new("/c"), Path::new("/s"))?;
        assert_eq!(
            none["default"],
            KvBackend::Sqlite(PathBuf::from("/s/sqlite_key_value.db"))
        );
        Ok(())
    }

    #[test]
    fn runtime_config_refusals_name_the_label() -> Result<()> {
        for (text, expect) in [
            ("[key_value_store.cache]\ntype = \"redis\"", "needs `url`"),
            (
                "[key_value_store.cache]\ntype = \"redis\"\nurl = \"http://x\"",
                "Invalid Redis URL",
            ),
            (
                "[key_value_store.cache]\ntype = \"azure_cosmos\"",
                "`azure_cosmos` is not supported",
            ),
        ] {
            let rc: RuntimeConfig = toml::from_str(text)?;
            let err = rc
                .key_value_backends(Path::new("/c"), Path::new("/s"))
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
            assert!(err.contains("[key_value_store.cache]"), "{err}");
            assert!(err.contains(expect), "{err}");
        }
        Ok(())
    }
}

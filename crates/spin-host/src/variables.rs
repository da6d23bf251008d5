//! Spin application variables, `{{ name }}` templates and the environment provider.
//!
//! Mirrors Spin 3.x (spinframework/spin):
//! - `crates/expressions/src/template.rs` — template syntax;
//! - `crates/expressions/src/lib.rs` — `Key::validate` (name rules), `Resolver`
//!   (`add_component_variables`, `validate_template`, `get_template`),
//!   `ProviderResolver::validate_variables` (required variables at start-up) and the error texts;
//! - `crates/variables/src/env.rs` — the env provider (`SPIN_VARIABLE_` + upper-cased name);
//! - `crates/loader/src/local.rs` `locked_variable` — `[variables]` entries must be
//!   `required` XOR have a `default`;
//! - `crates/factor-variables/src/host.rs` — how `get` errors reach the guest.
//!
//! Semantics:
//! - A variable name must be non-empty, use only `a-z`, `0-9` and `_`, start with a letter,
//!   end with a letter or digit, and contain no `__` (so `^[a-z](_?[a-z0-9])*$`).
//!   This applies to `[variables]` keys, `[component.<id>.variables]` keys and to `get`.
//! - Templates: literal text mixed with `{{ expr }}`; `expr` is trimmed and must name an
//!   application variable. There is no escape for `{{`; a `{{` without a later `}}` is an
//!   error; a lone `}}` is literal text.
//! - Each application variable must be `required = true` OR have a `default` (not both, not
//!   neither). Its value is the provider value (env `SPIN_VARIABLE_<NAME>`, read once here)
//!   if set, else the default. A required variable with no provider value is a start-up
//!   error: `no provider resolved required variable(s): ["name"]`.
//! - Component variables are templates over application variables; an unknown variable is a
//!   start-up error (`invalid variable template: unknown variable "x"`).
//! - `get(name)` at request time: invalid name → `invalid-name`; a name the component does
//!   not map → `undefined` (`no variable for "<component>"."<name>"`). Spin maps these for
//!   `wasi:config/store.get` to `Ok(None)` (both), and for the v1 `spin-config` interface
//!   `InvalidName` → `invalid-key`, `Undefined` → `provider`.
//! - Secret values (and component values built from them) are redacted by `Debug` and never
//!   appear in error messages.
//!
//! Spin's env provider also reads a `.env` file (`SPIN_VARIABLE_*` keys) when the variable is
//! not in the process environment; the `env` callback given to [`Resolver::new`] is where a
//! caller merges that in.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context as _, bail};

/// Prefix of the environment variables Spin's default env provider reads.
pub const ENV_PREFIX: &str = "SPIN_VARIABLE";

/// The environment variable that provides application variable `name`
/// (`api_key` → `SPIN_VARIABLE_API_KEY`).
pub fn env_var_name(name: &str) -> String {
    format!("{ENV_PREFIX}_{}", name.to_ascii_uppercase())
}

/// Checks a variable name the way Spin's `Key::validate` does. On failure returns Spin's
/// message (e.g. `"aX": invalid character 'X'. Variable names may contain ...`).
pub fn validate_name(name: &str) -> Result<(), String> {
    let reason = if name.is_empty() {
        Some("must not be empty".to_string())
    } else if let Some(invalid) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
    {
        Some(format!(
            "invalid character {invalid:?}. Variable names may contain only lower-case letters, numbers, and underscores."
        ))
    } else if !name.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) {
        Some("must start with a lowercase ASCII letter".to_string())
    } else if !name
        .bytes()
        .last()
        .is_some_and(|b| b.is_ascii_alphanumeric())
    {
        Some("must end with a lowercase ASCII letter or digit".to_string())
    } else if name.contains("__") {
        Some("must not contain multiple consecutive underscores".to_string())
    } else {
        None
    };
    match reason {
        Some(reason) => Err(format!("{name:?}: {reason}")),
        None => Ok(()),
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Expr(String),
}

/// A parsed `{{ name }}` template (Spin's `spin_expressions::Template`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`. Errors only on a `{{` with no later `}}`.
    pub fn parse(text: &str) -> anyhow::Result<Template> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after_open) = rest.strip_prefix("{{") {
                let Some((expr, after)) = after_open.split_once("}}") else {
                    bail!("invalid variable template: unmatched '{{{{' in template");
                };
                parts.push(Part::Expr(expr.trim().to_string()));
                rest = after;
            } else if let Some(idx) = rest.find("{{") {
                let (lit, after) = rest.split_at(idx);
                parts.push(Part::Lit(lit.to_string()));
                rest = after;
            } else {
                parts.push(Part::Lit(rest.to_string()));
                rest = "";
            }
        }
        Ok(Template { parts })
    }

    /// True when the template has no `{{ }}` expressions.
    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    /// The variable names referenced by the template, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(name) => Some(name.as_str()),
            Part::Lit(_) => None,
        })
    }
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in &self.parts {
            match part {
                Part::Lit(lit) => f.write_str(lit)?,
                Part::Expr(expr) => write!(f, "{{{{ {expr} }}}}")?,
            }
        }
        Ok(())
    }
}

/// One entry of the manifest's `[variables]` table.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct AppVariable {
    pub default: Option<String>,
    pub required: bool,
    pub secret: bool,
}

impl fmt::Debug for AppVariable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let default: Option<&str> = match (&self.default, self.secret) {
            (Some(_), true) => Some(REDACTED),
            (Some(d), false) => Some(d.as_str()),
            (None, _) => None,
        };
        f.debug_struct("AppVariable")
            .field("default", &default)
            .field("required", &self.required)
            .field("secret", &self.secret)
            .finish()
    }
}

const REDACTED: &str = "<redacted>";

/// A resolved value; `secret` when any application variable it came from is secret.
#[derive(Clone, PartialEq, Eq)]
struct Value {
    value: String,
    secret: bool,
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            f.write_str(REDACTED)
        } else {
            write!(f, "{:?}", self.value)
        }
    }
}

/// Application variables with their values (provider value, else default), resolved once
/// at start-up.
#[derive(Clone, Debug)]
pub struct Resolver {
    values: BTreeMap<String, Value>,
}

impl Resolver {
    /// Validates the `[variables]` table and reads each variable's provider value through
    /// `env`, which is called with the environment variable name (`SPIN_VARIABLE_<NAME>`).
    pub fn new(
        app_vars: BTreeMap<String, AppVariable>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Resolver> {
        let mut values = BTreeMap::new();
        let mut unresolved = Vec::new();
        for (name, var) in app_vars {
            if let Err(msg) = validate_name(&name) {
                bail!("invalid variable name: {msg}");
            }
            if var.required == var.default.is_some() {
                bail!("invalid variable {name:?}: must be `required` OR have a `default`");
            }
            match env(&env_var_name(&name)).or(var.default) {
                Some(value) => {
                    values.insert(
                        name,
                        Value {
                            value,
                            secret: var.secret,
                        },
                    );
                }
                None => unresolved.push(name),
            }
        }
        if !unresolved.is_empty() {
            let env_names: Vec<String> = unresolved.iter().map(|n| env_var_name(n)).collect();
            bail!(
                "provider error: no provider resolved required variable(s): {unresolved:?} \
                 (set {})",
                env_names.join(", ")
            );
        }
        Ok(Resolver { values })
    }

    /// True if `name` is an application variable.
    pub fn contains(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// Checks that every variable in `template` is an application variable.
    pub fn check_template(&self, template: &Template) -> anyhow::Result<()> {
        for name in template.variables() {
            if !self.values.contains_key(name) {
                bail!("invalid variable template: unknown variable {name:?}");
            }
        }
        Ok(())
    }

    /// Parses and expands a template against the application variables (used for
    /// `allowed_outbound_hosts` entries and component variables).
    pub fn resolve_template(&self, template: &str) -> anyhow::Result<String> {
        let template = Template::parse(template)?;
        Ok(self.resolve(&template)?.value)
    }

    fn resolve(&self, template: &Template) -> anyhow::Result<Value> {
        let mut value = String::new();
        let mut secret = false;
        for part in &template.parts {
            match part {
                Part::Lit(lit) => value.push_str(lit),
                Part::Expr(name) => {
                    let Some(v) = self.values.get(name) else {
                        bail!("invalid variable template: unknown variable {name:?}");
                    };
                    value.push_str(&v.value);
                    secret |= v.secret;
                }
            }
        }
        Ok(Value { value, secret })
    }

    fn check_component_var(&self, key: &str, template: &str) -> anyhow::Result<Template> {
        if let Err(msg) = validate_name(key) {
            bail!("invalid variable name: {msg}");
        }
        let template = Template::parse(template)?;
        self.check_template(&template)?;
        Ok(template)
    }

    /// Validates and fully resolves a component's `variables` table at start-up, so
    /// request-time lookups are map reads.
    pub fn resolve_component(
        &self,
        component_id: &str,
        vars: &BTreeMap<String, String>,
    ) -> anyhow::Result<ComponentVariables> {
        let mut values = BTreeMap::new();
        for (key, template) in vars {
            let value = self
                .check_component_var(key, template)
                .and_then(|t| self.resolve(&t))
                .with_context(|| format!("component `{component_id}`: variable `{key}`"))?;
            values.insert(key.clone(), value);
        }
        Ok(ComponentVariables {
            component_id: Some(component_id.to_string()),
            values,
        })
    }
}

/// One component's variables, resolved at start-up.
#[derive(Clone, Debug)]
pub struct ComponentVariables {
    component_id: Option<String>,
    values: BTreeMap<String, Value>,
}

impl ComponentVariables {
    /// `spin:variables/variables.get` (and `wasi:config/store.get`, see module docs).
    pub fn get(&self, name: &str) -> Result<String, GetError> {
        validate_name(name).map_err(GetError::InvalidName)?;
        match self.values.get(name) {
            Some(v) => Ok(v.value.clone()),
            None => Err(GetError::Undefined(match &self.component_id {
                Some(id) => format!("no variable for {id:?}.{name:?}"),
                None => format!("no variable for {name:?}"),
            })),
        }
    }

    /// All (name, value) pairs, for `wasi:config/store.get-all`.
    pub fn get_all(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect()
    }

    pub fn component_id(&self) -> Option<&str> {
        self.component_id.as_deref()
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The `spin:variables` `error` cases a lookup can produce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GetError {
    /// `error::invalid-name`
    InvalidName(String),
    /// `error::undefined`
    Undefined(String),
    /// `error::provider`
    Provider(String),
}

impl GetError {
    /// The message carried in the WIT error case.
    pub fn message(&self) -> &str {
        match self {
            GetError::InvalidName(m) | GetError::Undefined(m) | GetError::Provider(m) => m,
        }
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GetError::InvalidName(m) => write!(f, "invalid variable name: {m}"),
            GetError::Undefined(m) => write!(f, "undefined variable: {m}"),
            GetError::Provider(m) => write!(f, "provider error: {m}"),
        }
    }
}

impl std::error::Error for GetError {}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn var(default: Option<&str>, required: bool, secret: bool) -> AppVariable {
        AppVariable {
            default: default.map(str::to_string),
            required,
            secret,
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn sample_resolver() -> Resolver {
        let vars = BTreeMap::from([
            ("host".to_string(), var(Some("example.com"), false, false)),
            ("token".to_string(), var(None, true, true)),
            ("port".to_string(), var(Some("8080"), false, false)),
        ]);
        Resolver::new(vars, |k| {
            (k == "SPIN_VARIABLE_TOKEN").then(|| "s3cr3t".to_string())
        })
        .unwrap()
    }

    #[test]
    fn names_accepted_match_spin_keys_good() {
        for name in ["a", "abc", "a1b2c3", "a_1", "a_1_b_3"] {
            assert!(validate_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn names_rejected_match_spin_keys_bad() {
        for name in ["", "aX", "1bc", "_x", "x.y", "x_", "a__b", "x-y", "é"] {
            assert!(validate_name(name).is_err(), "{name}");
        }
    }

    #[test]
    fn invalid_name_message_is_spins() {
        assert_eq!(
            validate_name("aX").unwrap_err(),
            "\"aX\": invalid character 'X'. Variable names may contain only lower-case letters, numbers, and underscores."
        );
        assert_eq!(
            validate_name("x_").unwrap_err(),
            "\"x_\": must end with a lowercase ASCII letter or digit"
        );
    }

    #[test]
    fn env_name_is_prefix_plus_uppercase() {
        assert_eq!(env_var_name("api_key2"), "SPIN_VARIABLE_API_KEY2");
    }

    #[test]
    fn template_parts_like_spin() {
        assert!(Template::parse("").unwrap().is_literal());
        assert!(Template::parse("a").unwrap().is_literal());
        let t = Template::parse("a-{{ expr }}-b").unwrap();
        assert_eq!(
            t.parts,
            vec![
                Part::Lit("a-".into()),
                Part::Expr("expr".into()),
                Part::Lit("-b".into())
            ]
        );
        let t = Template::parse("{{expr1}}{{ expr2 }}").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), ["expr1", "expr2"]);
        assert_eq!(t.to_string(), "{{ expr1 }}{{ expr2 }}");
    }

    #[test]
    fn template_unmatched_open_is_error_and_lone_close_is_literal() {
        let err = Template::parse("{{ matched }} {{ unmatched").unwrap_err();
        assert!(err.to_string().contains("unmatched '{{'"), "{err}");
        assert!(Template::parse("a }} b").unwrap().is_literal());
    }

    #[test]
    fn required_with_default_is_error() {
        let vars = BTreeMap::from([("x".to_string(), var(Some("d"), true, false))]);
        let err = Resolver::new(vars, no_env).unwrap_err().to_string();
        assert!(
            err.contains("must be `required` OR have a `default`"),
            "{err}"
        );
        assert!(err.contains("\"x\""), "{err}");
    }

    #[test]
    fn neither_required_nor_default_is_error() {
        let vars = BTreeMap::from([("x".to_string(), var(None, false, false))]);
        assert!(Resolver::new(vars, no_env).is_err());
    }

    #[test]
    fn invalid_app_variable_name_is_error() {
        let vars = BTreeMap::from([("Bad".to_string(), var(Some("d"), false, false))]);
        let err = Resolver::new(vars, no_env).unwrap_err().to_string();
        assert!(err.starts_with("invalid variable name: \"Bad\""), "{err}");
    }

    #[test]
    fn required_without_value_is_startup_error_listing_all() {
        let vars = BTreeMap::from([
            ("a".to_string(), var(None, true, false)),
            ("b".to_string(), var(None, true, true)),
            ("c".to_string(), var(Some("x"), false, false)),
        ]);
        let err = Resolver::new(vars, no_env).unwrap_err().to_string();
        assert!(
            err.contains("no provider resolved required variable(s): [\"a\", \"b\"]"),
            "{err}"
        );
        assert!(err.contains("SPIN_VARIABLE_A, SPIN_VARIABLE_B"), "{err}");
    }

    #[test]
    fn env_overrides_default_and_satisfies_required() {
        let vars = BTreeMap::from([
            ("a".to_string(), var(None, true, false)),
            ("c".to_string(), var(Some("default"), false, false)),
        ]);
        let r = Resolver::new(vars, |k| match k {
            "SPIN_VARIABLE_A" => Some("from-env-a".to_string()),
            "SPIN_VARIABLE_C" => Some(String::new()),
            _ => None,
        })
        .unwrap();
        assert_eq!(r.resolve_template("{{ a }}").unwrap(), "from-env-a");
        // An empty env value still counts as provided (Spin: `Ok(Some(""))`).
        assert_eq!(r.resolve_template("[{{ c }}]").unwrap(), "[]");
    }

    #[test]
    fn default_used_without_env() {
        let r = sample_resolver();
        assert_eq!(
            r.resolve_template("https://{{ host }}:{{port}}").unwrap(),
            "https://example.com:8080"
        );
    }

    #[test]
    fn resolve_template_unknown_variable_is_error() {
        let err = sample_resolver()
            .resolve_template("{{ nope }}")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "invalid variable template: unknown variable \"nope\"");
    }

    #[test]
    fn resolve_component_accepts_literals_and_known_variables() {
        let r = sample_resolver();
        r.resolve_component("c1", &map(&[("a", "lit"), ("b", "x{{ host }}y")]))
            .unwrap();
    }

    #[test]
    fn resolve_component_unknown_app_variable_names_component_and_key() {
        let r = sample_resolver();
        let err = r
            .resolve_component("my-comp", &map(&[("url", "{{ missing }}")]))
            .unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("component `my-comp`"), "{text}");
        assert!(text.contains("variable `url`"), "{text}");
        assert!(text.contains("unknown variable \"missing\""), "{text}");
    }

    #[test]
    fn resolve_component_invalid_key_is_error() {
        let r = sample_resolver();
        let err = r
            .resolve_component("c", &map(&[("Bad-Key", "x")]))
            .unwrap_err();
        assert!(
            format!("{err:#}").contains("invalid variable name"),
            "{err:#}"
        );
    }

    #[test]
    fn resolve_component_unmatched_braces_is_error() {
        let r = sample_resolver();
        assert!(r.resolve_component("c", &map(&[("a", "{{ host")])).is_err());
    }

    #[test]
    fn component_get_returns_resolved_value() {
        let r = sample_resolver();
        let cv = r
            .resolve_component(
                "c",
                &map(&[("api_url", "https://{{ host }}/v1"), ("t", "{{ token }}")]),
            )
            .unwrap();
        assert_eq!(cv.get("api_url").unwrap(), "https://example.com/v1");
        assert_eq!(cv.get("t").unwrap(), "s3cr3t");
        assert_eq!(cv.len(), 2);
        assert_eq!(
            cv.get_all(),
            vec![
                ("api_url".to_string(), "https://example.com/v1".to_string()),
                ("t".to_string(), "s3cr3t".to_string())
            ]
        );
    }

    #[test]
    fn component_get_invalid_name_vs_undefined() {
        let r = sample_resolver();
        let cv = r.resolve_component("comp", &map(&[("a", "x")])).unwrap();
        assert!(matches!(cv.get("Bad"), Err(GetError::InvalidName(_))));
        assert!(matches!(cv.get(""), Err(GetError::InvalidName(_))));
        assert_eq!(
            cv.get("host"),
            Err(GetError::Undefined(
                "no variable for \"comp\".\"host\"".into()
            ))
        );
    }

    #[test]
    fn app_variables_not_visible_unless_mapped_by_component() {
        let r = sample_resolver();
        let cv = r.resolve_component("comp", &BTreeMap::new()).unwrap();
        assert!(cv.is_empty());
        assert!(matches!(cv.get("host"), Err(GetError::Undefined(_))));
    }

    #[test]
    fn get_error_display() {
        assert_eq!(
            GetError::Undefined("x".into()).to_string(),
            "undefined variable: x"
        );
        assert_eq!(GetError::InvalidName("y".into()).message(), "y");
    }

    #[test]
    fn debug_redacts_secrets() {
        let r = sample_resolver();
        let dbg = format!("{r:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");
        assert!(dbg.contains("example.com"), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");

        let cv = r
            .resolve_component("c", &map(&[("bearer", "Bearer {{ token }}")]))
            .unwrap();
        let dbg = format!("{cv:?}");
        assert!(!dbg.contains("s3cr3t"), "{dbg}");

        let v = var(Some("hunter2"), false, true);
        let dbg = format!("{v:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(format!("{:?}", var(Some("public"), false, false)).contains("public"));
    }

    #[test]
    fn env_is_read_once_at_startup() {
        let calls = std::cell::Cell::new(0);
        let vars = BTreeMap::from([("a".to_string(), var(Some("d"), false, false))]);
        let r = Resolver::new(vars, |_| {
            calls.set(calls.get() + 1);
            None
        })
        .unwrap();
        for _ in 0..3 {
            r.resolve_template("{{ a }}").unwrap();
        }
        assert_eq!(calls.get(), 1);
    }
}

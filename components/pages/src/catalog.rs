//! The bilingual catalogs (issue 14): every text the pages show, as data in
//! `i18n/en.json` and `i18n/zh.json` (flat `{"key": "text"}` maps; the same keys in both, a
//! test holds them together), and the problem titles of `components/shared/i18n/problems.json`
//! (`{"<type URI>": {"en": ..., "zh": ...}}`).
//!
//! Key families: `field.<name without indexes>` (a form control's label, e.g.
//! `field.sites.personnel.full_time`), `hint.<...>`, `section.<...>`, `error.<code>` (every
//! [`certflow_domain::ErrorCode`]), `status.<application status>`, `cert_status.<status>`,
//! `action.<certificate action>`, `page.<...>` and `ui.<...>` for page texts.

use std::collections::HashMap;
use std::sync::OnceLock;

/// A page language (issue 14): Chinese (`zh`, served as `zh-CN`) or English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Chinese, simplified (`zh`, `<html lang="zh-CN">`).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Both, in the order the language switch shows them.
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// `zh` or `en` (exact) as a language.
    pub fn parse(code: &str) -> Option<Lang> {
        // Language tags are case-insensitive (RFC 5646 §2.1.1): `?lang=EN` is English.
        match code.to_ascii_lowercase().as_str() {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The short code: `zh` or `en` (`?lang=`, `Content-Language`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `<html lang>` value: `zh-CN` or `en`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

const EN: &str = include_str!("../i18n/en.json");
const ZH: &str = include_str!("../i18n/zh.json");
const PROBLEMS: &str = include_str!("../../shared/i18n/problems.json");

type Table = HashMap<String, String>;

fn table(lang: Lang) -> &'static Table {
    static EN_TABLE: OnceLock<Table> = OnceLock::new();
    static ZH_TABLE: OnceLock<Table> = OnceLock::new();
    let (cell, text) = match lang {
        Lang::En => (&EN_TABLE, EN),
        Lang::Zh => (&ZH_TABLE, ZH),
    };
    // The catalogs are the crate's own files; a test proves they parse.
    cell.get_or_init(|| serde_json::from_str(text).unwrap_or_default())
}

/// The text of `key` in `lang`; a key missing from the catalog (a test forbids it) shows as
/// itself.
pub fn t(lang: Lang, key: &str) -> &'static str {
    match table(lang).get(key) {
        Some(text) => text.as_str(),
        None => leak_key(key),
    }
}

/// A missing key, kept as a `'static` text (each at most once).
fn leak_key(key: &str) -> &'static str {
    static MISSING: OnceLock<std::sync::Mutex<Vec<&'static str>>> = OnceLock::new();
    let missing = MISSING.get_or_init(Default::default);
    let Ok(mut known) = missing.lock() else {
        return "?";
    };
    if let Some(found) = known.iter().find(|k| **k == key) {
        return found;
    }
    let leaked: &'static str = Box::leak(key.to_string().into_boxed_str());
    known.push(leaked);
    leaked
}

/// Whether the catalog of `lang` has `key`.
pub fn has(lang: Lang, key: &str) -> bool {
    table(lang).contains_key(key)
}

/// The message of a field error code (`required`, `invalid_checksum`, ...) in `lang`
/// (`error.<code>`; an unknown code gets the generic `error.unknown`).
pub fn error_message(code: &str, lang: Lang) -> &'static str {
    let key = format!("error.{code}");
    if has(lang, &key) {
        t(lang, &key)
    } else {
        t(lang, "error.unknown")
    }
}

/// The title of problem type `kind` (its URI) in `lang`, from `problems.json`.
pub fn problem_title(kind: &str, lang: Lang) -> Option<&'static str> {
    static TITLES: OnceLock<HashMap<String, HashMap<String, String>>> = OnceLock::new();
    TITLES
        .get_or_init(|| serde_json::from_str(PROBLEMS).unwrap_or_default())
        .get(kind)?
        .get(lang.code())
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(text: &str) -> Result<BTreeSet<String>, serde_json::Error> {
        Ok(serde_json::from_str::<Table>(text)?.into_keys().collect())
    }

    #[test]
    fn issue14_both_catalogs_have_the_same_keys() -> Result<(), serde_json::Error> {
        let en = keys(EN)?;
        let zh = keys(ZH)?;
        let only_en: Vec<_> = en.difference(&zh).collect();
        let only_zh: Vec<_> = zh.difference(&en).collect();
        assert!(only_en.is_empty(), "missing in zh.json: {only_en:?}");
        assert!(only_zh.is_empty(), "missing in en.json: {only_zh:?}");
        Ok(())
    }

    #[test]
    fn issue14_every_field_error_code_has_a_message_in_both_languages() {
        for code in certflow_domain::ErrorCode::ALL {
            for lang in Lang::ALL {
                assert!(
                    has(lang, &format!("error.{}", code.as_str())),
                    "error.{} missing in {}",
                    code.as_str(),
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn issue14_every_problem_type_has_both_titles() -> Result<(), serde_json::Error> {
        let titles: HashMap<String, HashMap<String, String>> = serde_json::from_str(PROBLEMS)?;
        assert!(!titles.is_empty());
        for (kind, by_lang) in &titles {
            for lang in Lang::ALL {
                assert!(
                    by_lang.contains_key(lang.code()),
                    "{kind}: no {}",
                    lang.code()
                );
            }
        }
        Ok(())
    }

    #[test]
    fn issue14_statuses_and_actions_have_words() {
        let statuses = [
            "submitted",
            "under_review",
            "accepted",
            "rejected",
            "in_audit",
            "decided",
            "certified",
        ];
        let cert = ["active", "suspended", "withdrawn", "expired", "pending"];
        for lang in Lang::ALL {
            for s in statuses {
                assert!(has(lang, &format!("status.{s}")), "status.{s}");
            }
            for s in cert {
                assert!(has(lang, &format!("cert_status.{s}")), "cert_status.{s}");
            }
            // Every history action the certificate page may show (the verification page's
            // history named `action.recertified` by its key before this test).
            for action in certflow_domain::certificate::Action::ALL {
                let name = serde_json::to_value(action)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                assert!(has(lang, &format!("action.{name}")), "action.{name}");
            }
        }
    }
}
